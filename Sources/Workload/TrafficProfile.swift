/// Which family of traffic `gen` writes (`--profile`).
public enum TrafficProfile: String, CaseIterable, Sendable, Hashable, Codable {
    /// The population `gen` always wrote: services steady all day with a
    /// ±20 % diurnal swing, people in office-hours sessions, batch jobs at a
    /// fixed time, lognormal sizes per key.
    case steady

    /// Traffic shaped like a real gateway's, where detectors fitted to
    /// `steady` raise false alerts: sessions arriving as a non-homogeneous
    /// Poisson process with Pareto chunk counts and lognormal think times,
    /// sizes with a bulk mode and exact frame sizes, people in their own time
    /// zones with lunch and weekends, nightly and weekly batch jobs, replica
    /// groups sharing one load, growth, deploy gaps and benign surprises
    /// (`RealisticShape`). Its anomalies are the scenarios of `RealisticScenario`.
    case realistic

    /// `steady, …` for error messages and help.
    public static var validNames: String { allCases.map(\.rawValue).joined(separator: ", ") }
}
