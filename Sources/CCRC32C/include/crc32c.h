#ifndef CHUNKWATCH_CRC32C_H
#define CHUNKWATCH_CRC32C_H
#include <stddef.h>
#include <stdint.h>

/// Extends `crc` (0 to start) with `length` bytes at `data`: CRC32C
/// (Castagnoli), as iSCSI, ext4 and Snappy use it. Runs on the CPU's CRC
/// instruction when it has one (chosen once, on the first call), on the table
/// otherwise. `data` may be NULL when `length` is 0. Thread-safe.
uint32_t chunkwatch_crc32c(uint32_t crc, const void *data, size_t length);

/// 1 when chunkwatch_crc32c runs on the CPU's CRC instructions, 0 on the table.
int chunkwatch_crc32c_hardware(void);

/// chunkwatch_crc32c on the slicing-by-8 table, whatever the CPU: for tests
/// and benchmarks that compare the two paths.
uint32_t chunkwatch_crc32c_table(uint32_t crc, const void *data, size_t length);

/// chunkwatch_crc32c on the CPU's CRC instruction. Only call it when
/// chunkwatch_crc32c_hardware() returns 1: on an x86_64 CPU without SSE 4.2 it
/// stops the process with an illegal instruction. (On targets with no CRC
/// instruction at all it is the table.)
uint32_t chunkwatch_crc32c_hw(uint32_t crc, const void *data, size_t length);

#endif
