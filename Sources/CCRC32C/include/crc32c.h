#ifndef CHUNKWATCH_CRC32C_H
#define CHUNKWATCH_CRC32C_H
#include <stddef.h>
#include <stdint.h>

/// Extends `crc` (0 to start) with `length` bytes at `data`: CRC32C
/// (Castagnoli), as iSCSI, ext4 and Snappy use it.
uint32_t chunkwatch_crc32c(uint32_t crc, const void *data, size_t length);

/// 1 when chunkwatch_crc32c runs on the CPU's CRC instructions, 0 on the table.
int chunkwatch_crc32c_hardware(void);

#endif
