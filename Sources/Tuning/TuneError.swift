/// Why a tuning run cannot go on, as one line for the command's stderr:
/// an unknown detector or parameter, a bad range, an unreadable input or labels file.
public struct TuneError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
