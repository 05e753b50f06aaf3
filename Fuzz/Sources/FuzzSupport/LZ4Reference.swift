import Ingest

/// A whole LZ4 input decoded in one call: what a target compares its
/// streaming results with.
public struct LZ4Decoded {
    public var bytes: [UInt8] = []
    /// The decoder's error, if any (what came before it is in `bytes`).
    public var error: LZ4Error?
    /// `finish()`'s error: the input ended inside a frame.
    public var truncated: LZ4Error?

    public var isClean: Bool { error == nil && truncated == nil }

    public init(_ input: UnsafeRawBufferPointer, outputCapacity: Int = 4 << 20) {
        let decoder: LZ4FrameDecoder
        do {
            decoder = try LZ4FrameDecoder(outputCapacity: outputCapacity)
        } catch {
            fail("LZ4FrameDecoder: \(error)")
        }
        self.init(decoder, pieces: [input])
    }

    /// Decodes `pieces` in order with `decoder`, stopping at the first error.
    public init(_ decoder: LZ4FrameDecoder, pieces: [UnsafeRawBufferPointer]) {
        var out: [UInt8] = []
        for piece in pieces where error == nil {
            do {
                try decoder.decompress(piece) { (run: UnsafeRawBufferPointer) in out.append(contentsOf: run) }
            } catch {
                if case .lz4(let e) = error { self.error = e }
            }
        }
        bytes = out
        if error == nil {
            do { try decoder.finish() } catch { truncated = error }
        }
    }
}

/// The bytes compressed as one LZ4 frame by `LZ4FrameEncoder`.
public func lz4Frame(_ bytes: [UInt8]) -> [UInt8] {
    let encoder: LZ4FrameEncoder
    do {
        encoder = try LZ4FrameEncoder()
    } catch {
        fail("LZ4FrameEncoder: \(error)")
    }
    var out: [UInt8] = []
    encoder.begin { out.append(contentsOf: $0) }
    bytes.withUnsafeBytes { raw in encoder.compress(raw) { out.append(contentsOf: $0) } }
    encoder.end { out.append(contentsOf: $0) }
    return out
}

/// The number of `\n` bytes.
public func lineEnds<C: Collection<UInt8>>(_ bytes: C) -> Int { bytes.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) } }
