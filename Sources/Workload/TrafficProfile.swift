/// Which family of traffic `gen` writes (`--profile`).
public enum TrafficProfile: String, CaseIterable, Sendable, Hashable, Codable {
    /// The population `gen` always wrote: services steady all day with a
    /// ±20 % diurnal swing, people in office-hours sessions, batch jobs at a
    /// fixed time, lognormal sizes per key.
    case steady

    /// `steady, …` for error messages and help.
    public static var validNames: String { allCases.map(\.rawValue).joined(separator: ", ") }
}
