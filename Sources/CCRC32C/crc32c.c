#include "crc32c.h"

// Placeholder until the implementation lands (table + hardware); see issue 5.
uint32_t chunkwatch_crc32c(uint32_t crc, const void *data, size_t length) {
    const uint8_t *p = data;
    crc = ~crc;
    while (length--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
    }
    return ~crc;
}

int chunkwatch_crc32c_hardware(void) { return 0; }
