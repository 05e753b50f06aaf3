#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Foundation
import Synchronization

/// A throwaway PostgreSQL cluster for one test: a temporary data directory,
/// `postgres` in the foreground on a free loopback port, trust authentication
/// for the `postgres` role, durability off. `stop()` (or deinit) shuts it
/// down at once and removes the directory.
///
/// initdb and postgres refuse to run as root, so as root both run as the
/// `postgres` system user (Debian's package creates it) through `setpriv`,
/// which execs rather than forks: the child we signal is the postmaster itself.
final class PostgresServer: Sendable {
    /// Why the tests cannot start a server here, or nil when they can.
    static var unavailableReason: String? {
        if case .failure(let error) = tools { return error.message }
        return nil
    }
    static var isAvailable: Bool { unavailableReason == nil }

    let port: Int
    /// The temporary directory: the data directory, the Unix socket, the log.
    let directory: String
    var dataDirectory: String { directory + "/data" }
    var logFile: String { directory + "/postgres.log" }

    private let process: Process
    private let exited: DispatchSemaphore
    private let stopped = Mutex(false)

    /// Initialises a cluster and starts it; runs off the pool (initdb takes a
    /// second or so). `settings` are extra `-c name=value` server settings.
    static func start(settings: [String: String] = [:]) async throws -> PostgresServer {
        try await offThePool { try startBlocking(settings: settings) }
    }

    static func startBlocking(settings: [String: String] = [:]) throws -> PostgresServer {
        let tools = try Self.tools.get()
        let directory = try makeDirectory(under: tools.runAs == nil ? NSTemporaryDirectory() : "/tmp")
        do {
            if let user = tools.runAs, chown(directory, user.uid, user.gid) != 0 {
                throw PostgresServerError("cannot chown \(directory) to postgres: \(String(cString: strerror(errno)))")
            }
            let initdb = try runProcess(
                tools.server("initdb"),
                [
                    "-D", directory + "/data", "--auth=trust", "-U", "postgres", "--no-sync", "-E", "UTF8",
                    "--locale=C",
                ],
                as: tools.runAs, in: directory, timeout: .seconds(120))
            guard initdb.status == 0 else {
                throw PostgresServerError("initdb failed (status \(initdb.status)): \(initdb.stderr.suffix(2000))")
            }
            // A port found free can be taken again before postgres binds it: retry then.
            var attempt = 0
            while true {
                attempt += 1
                do {
                    return try launch(tools, directory: directory, port: try freeLoopbackPort(), settings: settings)
                } catch let error as PostgresServerError where error.portTaken && attempt < 5 {
                    continue
                }
            }
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    private static func launch(
        _ tools: Tools, directory: String, port: Int, settings: [String: String]
    ) throws -> PostgresServer {
        var arguments = [
            "-D", directory + "/data", "-p", String(port),
            "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=\(directory)",
            "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
        ]
        for (name, value) in settings.sorted(by: { $0.key < $1.key }) { arguments += ["-c", "\(name)=\(value)"] }
        let logPath = directory + "/postgres.log"
        guard FileManager.default.createFile(atPath: logPath, contents: nil),
            let log = FileHandle(forWritingAtPath: logPath)
        else { throw PostgresServerError("cannot create \(logPath)") }
        defer { try? log.close() }  // the child holds its own descriptor
        let process = makeProcess(tools.server("postgres"), arguments, as: tools.runAs, in: directory)
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = log
        process.standardError = log
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
        let server = PostgresServer(port: port, directory: directory, process: process, exited: exited)

        let deadline = ContinuousClock.now + .seconds(30)
        while process.isRunning && ContinuousClock.now < deadline {
            let ready = try runProcess(
                tools.server("pg_isready"),
                ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-d", "postgres", "-t", "2", "-q"],
                timeout: .seconds(10))
            if ready.status == 0 { return server }
            usleep(50_000)
        }
        let running = process.isRunning
        server.shutDown()
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        throw PostgresServerError(
            "postgres \(running ? "did not accept connections within 30 s" : "exited") on port \(port): \(text.suffix(2000))",
            portTaken: !running && text.contains("Address already in use"))
    }

    private init(port: Int, directory: String, process: Process, exited: DispatchSemaphore) {
        self.port = port
        self.directory = directory
        self.process = process
        self.exited = exited
    }

    deinit { stop() }

    /// Immediate shutdown (no checkpoint: the data is thrown away), then
    /// removes the directory. Idempotent; blocks for a moment, so it suits `defer`.
    func stop() {
        guard shutDown() else { return }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Stops the postmaster; false if it was already stopped.
    @discardableResult
    private func shutDown() -> Bool {
        let first = stopped.withLock { done in
            defer { done = true }
            return !done
        }
        guard first else { return false }
        let pid = process.processIdentifier
        // SIGQUIT is postgres's immediate shutdown; SIGKILL if it hangs.
        if process.isRunning { kill(pid, SIGQUIT) }
        if exited.wait(timeout: .now() + .seconds(10)) == .timedOut {
            kill(pid, SIGKILL)
            exited.wait()
        }
        return true
    }
}

// MARK: - Clients

/// What a client program printed, and its exit status.
struct ProcessOutput: Sendable, CustomStringConvertible {
    var stdout: String
    var stderr: String
    var status: Int32

    var description: String { "status \(status)\nstdout: \(stdout.prefix(2000))\nstderr: \(stderr.prefix(2000))" }
}

/// Runs `sql` with psql against `host:port` (the database's port or a proxy's)
/// as the `postgres` role: unaligned, tuples only, stopping at the first error.
/// `options` go before `-c`, e.g. `["-o", path]` to write a large result to a file.
func psql(
    host: String = "127.0.0.1", port: Int, sql: String, database: String = "postgres", options: [String] = [],
    timeout: Duration = .seconds(300)
) async throws -> ProcessOutput {
    let tools = try PostgresServer.tools.get()
    let arguments =
        ["-h", host, "-p", String(port), "-U", "postgres", "-d", database, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1"]
        + options + ["-c", sql]
    return try await offThePool { try runProcess(tools.psql, arguments, timeout: timeout) }
}

/// Runs pgbench against `host:port` as the `postgres` role, e.g. `["-i", "-s", "1"]`
/// to initialise, then `["-c", "2", "-j", "2", "-t", "200", "-S"]`.
func pgbench(
    host: String = "127.0.0.1", port: Int, arguments: [String], database: String = "postgres",
    timeout: Duration = .seconds(300)
) async throws -> ProcessOutput {
    let tools = try PostgresServer.tools.get()
    let all = ["-h", host, "-p", String(port), "-U", "postgres"] + arguments + [database]
    return try await offThePool { try runProcess(tools.pgbench, all, timeout: timeout) }
}

/// A loopback TCP port nothing listens on at the moment of asking.
func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw PostgresServerError("socket: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = 0
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
    }
    guard ok else { throw PostgresServerError("cannot find a free port: \(String(cString: strerror(errno)))") }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// Runs blocking work (child processes, sockets) on a thread of its own:
/// blocking one of the few threads Swift's tasks share would stall the
/// proxy under test and other suites.
func offThePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { c in
        Thread { c.resume(with: Result { try work() }) }.start()
    }
}

struct PostgresServerError: Error, CustomStringConvertible {
    let message: String
    /// postgres exited because its port was taken after we found it free.
    let portTaken: Bool

    init(_ message: String, portTaken: Bool = false) {
        self.message = message
        self.portTaken = portTaken
    }

    var description: String { message }
}

// MARK: - Finding and running the programs

extension PostgresServer {
    /// The user the server programs run as when we are root.
    struct User: Sendable {
        var uid: uid_t
        var gid: gid_t
    }

    struct Tools: Sendable {
        /// Where initdb, postgres and pg_isready are.
        var serverDirectory: String
        var psql: String
        var pgbench: String
        var runAs: User?

        func server(_ name: String) -> String { serverDirectory + "/" + name }
    }

    static let tools: Result<Tools, PostgresServerError> = locate()

    private static func locate() -> Result<Tools, PostgresServerError> {
        let install = "apt-get install postgresql"
        guard let directory = serverDirectory() else {
            return .failure(
                PostgresServerError(
                    "needs PostgreSQL's server programs (initdb, postgres, pg_isready) in /usr/lib/postgresql/*/bin "
                        + "or pg_config --bindir (\(install))"))
        }
        // The clients of the same version, else Debian's wrappers in /usr/bin.
        func client(_ name: String) -> String? {
            [directory + "/" + name, "/usr/bin/" + name].first { FileManager.default.isExecutableFile(atPath: $0) }
        }
        guard let psql = client("psql"), let pgbench = client("pgbench") else {
            return .failure(PostgresServerError("needs psql and pgbench beside \(directory) or in /usr/bin (\(install))"))
        }
        var runAs: User?
        if getuid() == 0 {
            guard let entry = getpwnam("postgres") else {
                return .failure(PostgresServerError("running as root, and there is no postgres user to run initdb as"))
            }
            guard FileManager.default.isExecutableFile(atPath: setpriv) else {
                return .failure(PostgresServerError("running as root, and \(setpriv) is missing (util-linux)"))
            }
            runAs = User(uid: entry.pointee.pw_uid, gid: entry.pointee.pw_gid)
        }
        return .success(Tools(serverDirectory: directory, psql: psql, pgbench: pgbench, runAs: runAs))
    }

    /// The highest version in /usr/lib/postgresql (Debian's layout), else pg_config's answer.
    private static func serverDirectory() -> String? {
        func complete(_ directory: String) -> Bool {
            ["initdb", "postgres", "pg_isready"].allSatisfy {
                FileManager.default.isExecutableFile(atPath: directory + "/" + $0)
            }
        }
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? [])
            .compactMap { name -> (version: [Int], name: String)? in
                let parts = name.split(separator: ".").map { Int($0) }
                return parts.isEmpty || parts.contains(nil) ? nil : (parts.map { $0! }, name)
            }
            .sorted { $0.version.lexicographicallyPrecedes($1.version) }
        for (_, name) in versions.reversed() where complete("/usr/lib/postgresql/\(name)/bin") {
            return "/usr/lib/postgresql/\(name)/bin"
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for entry in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(entry)/pg_config") {
            guard let out = try? runProcess("\(entry)/pg_config", ["--bindir"], timeout: .seconds(10)), out.status == 0
            else { continue }
            let directory = out.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            if complete(directory) { return directory }
        }
        return nil
    }
}

private let setpriv = "/usr/bin/setpriv"

private func makeDirectory(under parent: String) throws -> String {
    var template = Array((parent + "/chunkwatch-pg-XXXXXX").utf8CString)
    guard let p = mkdtemp(&template) else {
        throw PostgresServerError("mkdtemp under \(parent): \(String(cString: strerror(errno)))")
    }
    // Unix socket paths are limited to ~100 bytes: keep "//" and the like out.
    return URL(fileURLWithPath: String(cString: p)).standardizedFileURL.path
}

/// A `Process` for `executable`, as `user` when given (we are root), with no
/// PG* variables from the environment so only the arguments say where to connect.
private func makeProcess(_ executable: String, _ arguments: [String], as user: PostgresServer.User?, in directory: String?)
    -> Process
{
    let process = Process()
    if let user {
        process.executableURL = URL(fileURLWithPath: setpriv)
        process.arguments = ["--reuid=\(user.uid)", "--regid=\(user.gid)", "--clear-groups", "--", executable] + arguments
    } else {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
    }
    var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PG") }
    environment["PGCONNECT_TIMEOUT"] = "10"
    process.environment = environment
    // The postgres user may not be able to reach our working directory.
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    return process
}

/// Runs a program to its end and returns what it printed. Its output goes to
/// temporary files, not pipes, so tens of MB cannot stall it; it is killed
/// after `timeout`.
func runProcess(
    _ executable: String, _ arguments: [String], as user: PostgresServer.User? = nil, in directory: String? = nil,
    timeout: Duration
) throws -> ProcessOutput {
    let process = makeProcess(executable, arguments, as: user, in: directory)
    let (outPath, out) = try temporaryFile()
    defer { unlink(outPath); try? out.close() }
    let (errPath, err) = try temporaryFile()
    defer { unlink(errPath); try? err.close() }
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = out
    process.standardError = err
    let exited = DispatchSemaphore(value: 0)
    process.terminationHandler = { _ in exited.signal() }
    try process.run()
    let milliseconds = Int(timeout / .milliseconds(1))
    let timedOut = exited.wait(timeout: .now() + .milliseconds(milliseconds)) == .timedOut
    if timedOut {
        kill(process.processIdentifier, SIGKILL)
        exited.wait()
    }
    func text(_ path: String) -> String {
        String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
    }
    let output = ProcessOutput(stdout: text(outPath), stderr: text(errPath), status: process.terminationStatus)
    if timedOut {
        throw PostgresServerError("\(executable) \(arguments.joined(separator: " ")) ran over \(timeout): \(output)")
    }
    return output
}

private func temporaryFile() throws -> (String, FileHandle) {
    var template = Array((NSTemporaryDirectory() + "/chunkwatch-out-XXXXXX").utf8CString)
    let fd = mkstemp(&template)
    guard fd >= 0 else { throw PostgresServerError("mkstemp: \(String(cString: strerror(errno)))") }
    let path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    return (path, FileHandle(fileDescriptor: fd, closeOnDealloc: true))
}
