import CFuzzerDriver

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

exit(chunkwatch_fuzz_main(CommandLine.argc, CommandLine.unsafeArgv, fuzzNDJSON))
