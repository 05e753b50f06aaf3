import ChunkModel
import FuzzSupport
import Ingest

/// LZ4 archives: any bytes as an `.lz4` file read by `EventReader` (which
/// decides the format from the first bytes), and the same bytes through
/// `LZ4FrameDecoder` whole and in pieces with a small or large output buffer.
///
/// Checks, besides "no crash": the pieces fail where the whole input fails
/// (the same kind of error) and otherwise give exactly the same bytes; what
/// decodes cleanly, compressed again by `LZ4FrameEncoder`, decodes to itself;
/// the reader throws exactly when the decoder finds the archive corrupt or
/// cut, with an offset inside the file, and when it does not, it counts one
/// outcome for every non-empty line of the decoded text.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLZ4(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    var splits = Splits(input)
    let isLZ4 = input.count >= 4 && input.prefix(4).elementsEqual(LZ4FrameDecoder.magic)

    let whole = LZ4Decoded(input)
    let small: LZ4FrameDecoder
    do {
        small = try LZ4FrameDecoder(outputCapacity: [1, 64, 4096][splits.pick(3)])
    } catch {
        fail("LZ4FrameDecoder: \(error)")
    }
    var pieces: [UnsafeRawBufferPointer] = []
    splits.pieces(of: input) { pieces.append($0) }
    let split = LZ4Decoded(small, pieces: pieces)
    require(
        (whole.error == nil) == (split.error == nil),
        "whole: \(String(describing: whole.error)); in pieces: \(String(describing: split.error))")
    if whole.error == nil {
        require(whole.bytes == split.bytes, "\(whole.bytes.count) bytes whole, \(split.bytes.count) in pieces")
        require((whole.truncated == nil) == (split.truncated == nil), "one of whole and pieces says the input is cut")
    }
    if whole.isClean && !whole.bytes.isEmpty {
        let again = lz4Frame(whole.bytes).withUnsafeBytes { LZ4Decoded($0) }
        require(again.isClean && again.bytes == whole.bytes, "\(whole.bytes.count) bytes compressed again do not decode to themselves")
    }
    for e in [whole.error, whole.truncated].compactMap({ $0 }) {
        require(e.offset >= 0 && e.offset <= input.count, "an error at byte \(e.offset) of \(input.count)")
    }

    let path = scratch.write(input, to: "input.lz4")
    let reader = EventReader(symbols: SymbolTable(capacity: 64), readBufferSize: 1 << 16)
    var events = 0
    var readError: IngestError?
    do {
        try reader.read(InputFile(path: path, size: input.count)) { _ in events += 1 }
    } catch let e as IngestError {
        readError = e
    } catch {
        fail("EventReader threw \(error)")
    }
    require(events == reader.counts.accepted, "\(events) events handed out, \(reader.counts.accepted) counted")
    if isLZ4 {
        require((readError == nil) == whole.isClean, "the reader says \(String(describing: readError)), the decoder \(String(describing: whole.error ?? whole.truncated))")
        if let readError {
            require(readError.byteOffset.map { $0 >= 0 && $0 <= input.count } ?? false, "the reader's error has no offset in the file: \(readError)")
        } else {
            let expected = nonEmptyLines(whole.bytes)
            require(reader.counts.lines == expected, "\(reader.counts.lines) lines counted of \(expected) decoded")
        }
    } else {
        require(readError == nil, "plain NDJSON failed to read: \(String(describing: readError))")
        require(reader.counts.lines == nonEmptyLines(Array(input)), "\(reader.counts.lines) NDJSON lines counted")
    }
    return 0
}

let scratch = ScratchDirectory("fuzz-lz4")

/// Lines the framer hands out: ended by `\n` or the end, without a final `\r`, not empty.
func nonEmptyLines(_ bytes: [UInt8]) -> Int {
    var n = 0
    var start = 0
    func piece(_ end: Int) {
        var count = end - start
        if count > 0 && bytes[end - 1] == 0x0D { count -= 1 }
        if count > 0 { n += 1 }
    }
    for (i, b) in bytes.enumerated() where b == 0x0A {
        piece(i)
        start = i + 1
    }
    if start < bytes.count { piece(bytes.count) }
    return n
}
