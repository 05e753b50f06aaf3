#ifndef CHUNKWATCH_FUZZER_DRIVER_H
#define CHUNKWATCH_FUZZER_DRIVER_H

#include <stddef.h>
#include <stdint.h>

/// Runs libFuzzer's driver (LLVMFuzzerRunDriver, from the fuzzer runtime
/// that -sanitize=fuzzer links) with the process's arguments and `test` as
/// the target. Every fuzz target's main calls it: SwiftPM links an
/// executable's own main, so libFuzzer's is never used.
int chunkwatch_fuzz_main(int argc, char **argv, int (*test)(const uint8_t *data, size_t size));

#endif
