/// Why an input line was not accepted as a chunk event (SPEC §2).
public enum RejectReason: Int, Sendable, CaseIterable, CustomStringConvertible {
    case notJSON
    case missingField
    case wrongType
    case negativeSize
    case tooLong
    case badTimestamp
    /// A well-formed time outside `Timestamp.acceptedEvents` (1970 up to 2200).
    case tsOutOfRange

    /// The label used in counts, metrics and the rejects file.
    public var name: String {
        switch self {
        case .notJSON: "not_json"
        case .missingField: "missing_field"
        case .wrongType: "wrong_type"
        case .negativeSize: "negative_size"
        case .tooLong: "too_long"
        case .badTimestamp: "bad_timestamp"
        case .tsOutOfRange: "ts_out_of_range"
        }
    }

    public var description: String { name }
}

/// How many lines were accepted and rejected, by reason, and how many were
/// taps' drop reports (neither an event nor rejected).
public struct IngestCounts: Sendable, Equatable, Codable {
    public var accepted: Int = 0
    public var rejected: [Int] = Array(repeating: 0, count: RejectReason.allCases.count)
    public var dropReports: Int = 0

    public init() {}

    public mutating func reject(_ reason: RejectReason) { rejected[reason.rawValue] += 1 }
    public subscript(reason: RejectReason) -> Int { rejected[reason.rawValue] }
    public var totalRejected: Int { rejected.reduce(0, +) }
    public var lines: Int { accepted + totalRejected + dropReports }

    public mutating func add(_ other: IngestCounts) {
        accepted += other.accepted
        dropReports += other.dropReports
        for i in rejected.indices { rejected[i] += other.rejected[i] }
    }

    /// `12 rejected (3 not_json, 9 negative_size)`, or `0 rejected`.
    public var rejectedSummary: String {
        let parts = RejectReason.allCases.filter { self[$0] > 0 }.map { "\(self[$0]) \($0.name)" }
        return parts.isEmpty ? "0 rejected" : "\(totalRejected) rejected (\(parts.joined(separator: ", ")))"
    }
}
