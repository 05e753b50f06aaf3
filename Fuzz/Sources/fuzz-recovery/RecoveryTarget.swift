import FuzzSupport
import Ingest

/// Crash recovery of a hidden archive (`ArchiveSalvage`, the byte side of
/// Server's `ArchiveRecovery`): any bytes as the leftover, read in pieces.
///
/// Checks, besides "no crash": what it writes is always one clean LZ4 frame
/// whose text is whole lines, exactly as many as it says it kept; that text
/// is what the leftover holds (it agrees with a plain decoding of the leftover
/// as far as both go); a leftover with a corrupt block is never called whole
/// (so it is moved aside, not deleted); and when the leftover decodes
/// cleanly, it is whole and every complete line of it is kept.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRecovery(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    var splits = Splits(input)
    let salvage: ArchiveSalvage
    do {
        salvage = try ArchiveSalvage()
    } catch {
        fail("ArchiveSalvage: \(error)")
    }
    var written: [UInt8] = []
    func put(_ bytes: UnsafeRawBufferPointer) { written.append(contentsOf: bytes) }
    salvage.begin(put)
    splits.pieces(of: input) { piece in salvage.feed(piece, put) }
    salvage.finish(put)
    require(!salvage.detail.isEmpty, "no detail")

    let kept = written.withUnsafeBytes { LZ4Decoded($0) }
    require(kept.isClean, "the recovered archive does not decode: \(String(describing: kept.error ?? kept.truncated))")
    require(lineEnds(kept.bytes) == salvage.lines, "\(salvage.lines) lines said kept, \(lineEnds(kept.bytes)) in the archive")
    require(kept.bytes.isEmpty || kept.bytes.last == 0x0A, "the recovered archive ends inside a line")

    let plain = LZ4Decoded(input)
    let common = min(kept.bytes.count, plain.bytes.count)
    require(kept.bytes[..<common] == plain.bytes[..<common], "the recovered text differs from the leftover's")
    if plain.isClean {
        let complete = plain.bytes.lastIndex(of: 0x0A).map { $0 + 1 } ?? 0
        require(kept.bytes.count == complete, "kept \(kept.bytes.count) bytes of the \(complete) in complete lines")
        require(salvage.whole, "a clean leftover is not whole: \(salvage.detail)")
        require(salvage.detail.hasPrefix("the frame was complete"), "a clean leftover reported as '\(salvage.detail)'")
    }
    // A leftover with a corrupt block must be kept as evidence, never deleted.
    if plain.error != nil { require(!salvage.whole, "a corrupt leftover is called whole: \(salvage.detail)") }
    return 0
}
