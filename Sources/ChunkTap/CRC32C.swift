import CCRC32C

/// CRC32C (Castagnoli, polynomial 0x1EDC6F41, reflected 0x82F63B78): the
/// checksum a proxy puts in a SPEC §2 chunk event, `"checksum":"crc32c:1a2b3c4d"`
/// (8 lowercase hex digits), so that the collector can tell a chunk that changed
/// between hops, or was replayed, from a retransmission (docs/detectors.md).
///
/// It is the same CRC as iSCSI (RFC 3720), ext4 and Snappy use, so a proxy that
/// already has one of those can send it as is: `"123456789"` gives 0xE3069283.
///
/// The proxy computes one for every chunk it forwards, up to 64 KiB, so this runs
/// on the CPU's CRC instruction (x86_64 SSE 4.2, ARMv8 CRC), three streams at a
/// time, when the CPU has it, and on a slicing-by-8 table otherwise; the choice
/// is made once, at the first call (`usesHardware`). The work is in C (target
/// CCRC32C) because Swift cannot enable a CPU feature for one function.
///
/// No call allocates; every call is thread-safe.
public enum CRC32C {
    /// Which code computes the checksum. Every one gives the same value;
    /// `.automatic` is the fastest this CPU has. The others are for tests and
    /// benchmarks that compare the paths.
    public enum Implementation: Sendable {
        /// The CRC instruction when the CPU has it, the table otherwise.
        case automatic
        /// The slicing-by-8 table, whatever the CPU.
        case table
        /// The CPU's CRC instruction; only when `usesHardware` is true.
        case hardware
    }

    /// Whether `checksum` runs on the CPU's CRC instruction (SSE 4.2 on x86_64,
    /// the CRC extension on 64-bit Arm) rather than the table.
    public static var usesHardware: Bool { chunkwatch_crc32c_hardware() != 0 }

    /// The CRC32C of `bytes`, or, given the CRC of what came before them as
    /// `crc`, the CRC of the whole: `checksum(b, extending: checksum(a))` equals
    /// the checksum of `a` followed by `b`, so a chunk can be summed in pieces.
    @inlinable
    public static func checksum(_ bytes: UnsafeRawBufferPointer, extending crc: UInt32 = 0) -> UInt32 {
        chunkwatch_crc32c(crc, bytes.baseAddress, bytes.count)
    }

    /// `checksum(bytes, extending: crc)` on the chosen implementation.
    ///
    /// - Precondition: `implementation` is not `.hardware` unless `usesHardware`
    ///   (the instruction would stop the process).
    @inlinable
    public static func checksum(
        _ bytes: UnsafeRawBufferPointer, extending crc: UInt32 = 0, using implementation: Implementation
    ) -> UInt32 {
        switch implementation {
        case .automatic:
            return chunkwatch_crc32c(crc, bytes.baseAddress, bytes.count)
        case .table:
            return chunkwatch_crc32c_table(crc, bytes.baseAddress, bytes.count)
        case .hardware:
            precondition(usesHardware, "CRC32C: this CPU has no CRC32C instruction")
            return chunkwatch_crc32c_hw(crc, bytes.baseAddress, bytes.count)
        }
    }

    /// The CRC32C of a sequence of bytes: `[UInt8]`, an `ArraySlice`, a string's
    /// `utf8`, NIO's `readableBytesView`, `Data`. Contiguous storage is summed in
    /// place; anything else goes through a 256-byte stack buffer. No allocation.
    @inlinable
    public static func checksum(_ bytes: some Sequence<UInt8>, extending crc: UInt32 = 0) -> UInt32 {
        if let crc = bytes.withContiguousStorageIfAvailable({ checksum(UnsafeRawBufferPointer($0), extending: crc) }) {
            return crc
        }
        return withUnsafeTemporaryAllocation(byteCount: 256, alignment: 8) { buffer in
            var crc = crc
            var filled = 0
            for byte in bytes {
                buffer[filled] = byte
                filled += 1
                if filled == buffer.count {
                    crc = checksum(UnsafeRawBufferPointer(buffer), extending: crc)
                    filled = 0
                }
            }
            return checksum(UnsafeRawBufferPointer(rebasing: buffer[..<filled]), extending: crc)
        }
    }
}
