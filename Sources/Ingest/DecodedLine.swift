/// What one NDJSON line turned out to be, as `ChunkEventDecoder.decode` says.
public enum DecodedLine: Sendable, Equatable {
    /// A chunk event (SPEC §2), now in the event passed to `decode`.
    case event
    /// A tap's drop report (`"chunkwatch_tap":"drops"`), now in the decoder's
    /// `dropReport` until the next line; the event passed in holds nothing useful.
    case dropReport
    /// Neither: why the line was not accepted.
    case rejected(RejectReason)
}
