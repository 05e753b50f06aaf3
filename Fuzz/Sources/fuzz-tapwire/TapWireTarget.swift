import ChunkModel
import FuzzSupport
import Ingest

/// The collector's decoder of the binary tap framing: any bytes after the
/// stream's magic, fed once whole and once in pieces.
///
/// Checks, besides "no crash": both feeds give the same lines, the same event
/// count and the same error at the same offset (a frame split across reads
/// decodes as if it came in one); and when the stream carries no `report`
/// frame (whose line is passed through as sent), it yields one line per event,
/// each one well-formed JSON with every required field, whatever bytes the
/// names and numbers held.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTapWire(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    var splits = Splits(input)

    var whole = TapWireDecoder()
    var wholeOut = OutputBuffer()
    var wholeError: TapWireError?
    do { try whole.feed(input, into: &wholeOut) } catch { wholeError = error }

    var inPieces = TapWireDecoder()
    var piecesOut = OutputBuffer()
    var piecesError: TapWireError?
    splits.pieces(of: input) { piece in
        guard piecesError == nil else { return }
        do throws(TapWireError) { try inPieces.feed(piece, into: &piecesOut) } catch { piecesError = error }
    }
    require(wholeError == piecesError, "whole: \(String(describing: wholeError)); in pieces: \(String(describing: piecesError))")
    require(whole.events == inPieces.events, "\(whole.events) events whole, \(inPieces.events) in pieces")
    require(wholeOut.bytes == piecesOut.bytes, "the lines differ between the whole input and its pieces")
    if let wholeError {
        require(wholeError.offset >= 0 && wholeError.offset < input.count, "error offset \(wholeError.offset) outside the \(input.count) bytes")
    }

    guard !hasReportFrame(input) else { return 0 }
    let symbols = SymbolTable(capacity: 64)
    var decoder = ChunkEventDecoder(symbols: symbols)
    var event = ChunkEvent.empty
    var lines = 0
    let out = wholeOut.bytes
    var start = 0
    for (i, b) in out.enumerated() where b == 0x0A {
        lines += 1
        let result = out[start..<i].withUnsafeBytes { decoder.decode($0, into: &event) }
        switch result {
        case .event, .rejected(.negativeSize), .rejected(.badTimestamp), .rejected(.tsOutOfRange), .rejected(.wrongType):
            break  // a record's size and time, and a name's length, are the tap's to get right
        default:
            fail("line \(lines) of a record decodes as \(result): \(String(decoding: out[start..<i], as: UTF8.self))")
        }
        start = i + 1
    }
    require(start == out.count, "the output does not end with a line end")
    require(lines == whole.events, "\(lines) lines for \(whole.events) events")
    return 0
}

/// Whether any frame header, walking from the start, is a `report`.
func hasReportFrame(_ input: UnsafeRawBufferPointer) -> Bool {
    var offset = 0
    while input.count - offset >= 5 {
        if input[offset] == TapWire.FrameType.report.rawValue { return true }
        let length = Int(input.loadUnaligned(fromByteOffset: offset + 1, as: UInt32.self).littleEndian)
        offset += 5 + length
    }
    return false
}
