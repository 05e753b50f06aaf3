/// An input that could not be read to its end: which file, where, and why.
/// Events before the failure have been delivered; the rest of that file is skipped.
public struct IngestError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case notFound, cannotOpen, readFailed, corruptArchive, truncatedArchive
    }

    public var kind: Kind
    public var path: String
    /// Byte offset in the file (compressed bytes for archives), when it applies.
    public var byteOffset: Int?
    public var detail: String

    public init(_ kind: Kind, path: String, byteOffset: Int? = nil, detail: String) {
        self.kind = kind
        self.path = path
        self.byteOffset = byteOffset
        self.detail = detail
    }

    public var description: String {
        let name = path == "-" ? "stdin" : path
        let at = byteOffset.map { " at byte \($0)" } ?? ""
        switch kind {
        case .notFound: return "\(name): no such file or directory"
        case .cannotOpen: return "\(name): cannot open (\(detail))"
        case .readFailed: return "\(name): read failed\(at) (\(detail)); the rest of the file was skipped"
        case .corruptArchive:
            return "\(name): corrupt LZ4 archive\(at) (\(detail)); the rest of the file was skipped"
        case .truncatedArchive:
            return "\(name): truncated LZ4 archive\(at) (\(detail)); events up to there were read"
        }
    }
}
