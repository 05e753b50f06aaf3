#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How many connections each listener may hold open, so that together they
/// stay below the process's file-descriptor limit with room left for what the
/// daemon itself opens (the SQLite database and its WAL, archives, the event
/// loops' descriptors, an Alertmanager connection). At the limit the daemon
/// refuses new connections instead of failing `accept` and everything after it.
public struct ConnectionBudget: Sendable, Equatable {
    public var ingest: Int
    public var http: Int
    /// The soft `RLIMIT_NOFILE` the budget was derived from.
    public var fileLimit: Int

    /// Descriptors kept for files, at most half the limit.
    public static let reserve = 256

    /// The budget under `fileLimit`: of what the reserve leaves, three
    /// quarters for taps and a quarter for HTTP; a configured value (> 0)
    /// replaces the derived one.
    public static func derive(fileLimit: Int, ingest configuredIngest: Int = 0, http configuredHTTP: Int = 0) -> ConnectionBudget {
        let usable = max(fileLimit - min(reserve, fileLimit / 2), 4)
        let ingest = configuredIngest > 0 ? configuredIngest : max(usable * 3 / 4, 1)
        let http = configuredHTTP > 0 ? configuredHTTP : max(usable / 4, 1)
        return ConnectionBudget(ingest: ingest, http: http, fileLimit: fileLimit)
    }

    /// The process's soft limit on open files (`ulimit -n`).
    public static func currentFileLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Self.nofile, &limit) == 0 else { return 1024 }
        // RLIM_INFINITY is all ones, above Int32.max too.
        if limit.rlim_cur > rlim_t(Int32.max) { return Int(Int32.max) }
        return Int(limit.rlim_cur)
    }

    /// Whether the two limits together leave the reserve free; when not, the
    /// operator configured more than the descriptors allow.
    public var fitsFileLimit: Bool { ingest + http <= fileLimit - min(Self.reserve, fileLimit / 2) }

    #if canImport(Glibc)
    private static let nofile = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    private static let nofile = RLIMIT_NOFILE
    #endif
}
