#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ChunkWatchTestKit
import Foundation
import Synchronization
import Testing

/// The `chunkwatch` executable `swift test` built next to this test runner.
///
/// SwiftPM puts every product of a build in one directory (`.build/debug`,
/// or `<scratch>/<triple>/debug` with `--scratch-path`), the test runner
/// included, so the binary is found beside the running process. On macOS the
/// runner sits inside `X.xctest/Contents/MacOS`, hence the walk up.
/// `CHUNKWATCH_BIN` overrides the search.
enum Binary {
    struct Missing: Error, CustomStringConvertible {
        var searched: [String]
        var description: String {
            "the chunkwatch executable was not found next to the test runner (looked in: "
                + searched.joined(separator: ", ")
                + "); build it with `swift build --build-tests` in the same scratch path, or set CHUNKWATCH_BIN"
        }
    }

    static let located: Result<String, Missing> = locate()

    /// The executable's path, or a test failure that says where it was looked for.
    static func path() throws -> String { try located.get() }

    private static func locate() -> Result<String, Missing> {
        let fm = FileManager.default
        if let forced = ProcessInfo.processInfo.environment["CHUNKWATCH_BIN"], !forced.isEmpty {
            return isExecutable(forced) ? .success(forced) : .failure(Missing(searched: ["CHUNKWATCH_BIN=\(forced)"]))
        }
        var starts: [URL] = []
        if let exe = try? fm.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            starts.append(URL(fileURLWithPath: exe).deletingLastPathComponent())
        }
        if let arg0 = CommandLine.arguments.first, !arg0.isEmpty {
            let url = URL(fileURLWithPath: arg0, relativeTo: URL(fileURLWithPath: fm.currentDirectoryPath))
            starts.append(url.standardizedFileURL.resolvingSymlinksInPath().deletingLastPathComponent())
        }
        starts.append(Bundle.main.bundleURL)
        if let exe = Bundle.main.executableURL { starts.append(exe.deletingLastPathComponent()) }

        var searched: [String] = []
        for start in starts {
            var dir = start.standardizedFileURL
            for _ in 0..<4 {
                let candidate = dir.appendingPathComponent("chunkwatch").path
                if !searched.contains(dir.path) { searched.append(dir.path) }
                if isExecutable(candidate) { return .success(candidate) }
                dir.deleteLastPathComponent()
            }
        }
        return .failure(Missing(searched: searched))
    }

    private static func isExecutable(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
            && FileManager.default.isExecutableFile(atPath: path)
    }
}

/// What a finished run of the executable left behind.
struct RunResult: Sendable, CustomStringConvertible {
    var arguments: [String]
    /// The exit status, or the signal number when `signalled`.
    var status: Int32
    var signalled: Bool
    var timedOut: Bool
    var stdout: Data
    var stderr: Data
    var seconds: Double

    var exitedCleanly: Bool { !signalled && !timedOut && status == 0 }
    var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    var stderrText: String { String(decoding: stderr, as: UTF8.self) }
    /// Output lines without the empty piece after the final newline.
    var stdoutLines: [String] { lines(stdoutText) }
    var stderrLines: [String] { lines(stderrText) }

    var description: String {
        let how = timedOut ? "timed out and was killed" : signalled ? "killed by signal \(status)" : "exit \(status)"
        let err = stderrText.count > 2000 ? String(stderrText.prefix(2000)) + "…" : stderrText
        return "chunkwatch \(arguments.joined(separator: " ")): \(how) after \(String(format: "%.2f", seconds)) s; stderr: \(err)"
    }

    private func lines(_ text: String) -> [String] {
        var parts = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if parts.last == "" { parts.removeLast() }
        return parts
    }
}

/// A child's pipe read to its end (`PipeReader`); no end of file in time is a test failure.
struct Capture {
    let reader: PipeReader

    init(_ handle: FileHandle) { reader = PipeReader(handle) }

    /// Waits for end of file (the child and anything sharing the pipe gone).
    func finish(timeout: Double, _ what: String) -> Data {
        let (data, complete) = reader.finish(timeout: timeout)
        if !complete { Issue.record("no end of file on \(what) \(timeout) s after the child ended") }
        return data
    }
}

/// One running `chunkwatch`. A watchdog kills it (SIGKILL) at its deadline so a
/// hung child fails its test instead of hanging CI.
final class Child {
    enum Input {
        case null
        case file(String)
        case pipe(Pipe)
    }

    enum Output {
        case capture
        case file(String)
        case pipe(Pipe)
    }

    /// Shared with the termination handler and the watchdog.
    private final class State: Sendable {
        struct Flags {
            var exited = false
            var killedByWatchdog = false
        }
        let flags = Mutex(Flags())
        let exited = DispatchSemaphore(value: 0)
    }

    let arguments: [String]
    let process = Process()
    private let state = State()
    private var stdoutCapture: Capture?
    private var stderrCapture: Capture?
    private let started = DispatchTime.now()
    let timeout: Double

    /// `launcher`, when given, runs the executable: its first element is the
    /// program, the executable's path and `arguments` follow the rest (e.g. a
    /// shell that lowers `ulimit -n`, then `exec "$0" "$@"`).
    init(
        _ arguments: [String], stdin: Input = .null, stdout: Output = .capture, timeout: Double = 60, launcher: [String] = []
    ) throws {
        self.arguments = arguments
        self.timeout = timeout
        if let program = launcher.first {
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = Array(launcher.dropFirst()) + [try Binary.path()] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: try Binary.path())
            process.arguments = arguments
        }

        // Files opened here for the child; the child has its own copies once it runs.
        var ownHandles: [FileHandle] = []
        defer { for handle in ownHandles { try? handle.close() } }
        switch stdin {
        case .null: process.standardInput = FileHandle.nullDevice
        case .file(let path):
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            process.standardInput = handle
            ownHandles.append(handle)
        case .pipe(let pipe): process.standardInput = pipe
        }
        var outPipe: Pipe?
        switch stdout {
        case .capture:
            outPipe = Pipe()
            process.standardOutput = outPipe
        case .file(let path):
            try Data().write(to: URL(fileURLWithPath: path))
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            process.standardOutput = handle
            ownHandles.append(handle)
        case .pipe(let pipe): process.standardOutput = pipe
        }
        let errPipe = Pipe()
        process.standardError = errPipe

        let state = self.state
        process.terminationHandler = { _ in
            state.flags.withLock { $0.exited = true }
            state.exited.signal()
        }
        try process.run()
        // Our copies of the child's ends: closed, so EOF comes when the child goes.
        if let outPipe {
            try? outPipe.fileHandleForWriting.close()
            stdoutCapture = Capture(outPipe.fileHandleForReading)
        }
        try? errPipe.fileHandleForWriting.close()
        stderrCapture = Capture(errPipe.fileHandleForReading)

        let pid = process.processIdentifier
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout) {
            // Under the lock the termination handler takes first, so a child
            // already reaped (its pid free for reuse) is never signalled.
            state.flags.withLock { flags in
                if !flags.exited {
                    flags.killedByWatchdog = true
                    kill(pid, SIGKILL)
                }
            }
        }
    }

    /// Waits for the child to end (the watchdog bounds the wait) and collects its output.
    func wait() -> RunResult {
        if state.exited.wait(timeout: .now() + timeout + 30) == .timedOut {
            // The watchdog did not get it either: never hang the suite.
            kill(process.processIdentifier, SIGKILL)
            state.exited.wait()
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        let out = stdoutCapture?.finish(timeout: 10, "the stdout of chunkwatch \(arguments.joined(separator: " "))") ?? Data()
        let err = stderrCapture?.finish(timeout: 10, "the stderr of chunkwatch \(arguments.joined(separator: " "))") ?? Data()
        return RunResult(
            arguments: arguments,
            status: process.terminationStatus,
            signalled: process.terminationReason == .uncaughtSignal,
            timedOut: state.flags.withLock { $0.killedByWatchdog },
            stdout: out, stderr: err, seconds: seconds)
    }
}

/// Runs `chunkwatch ARGS` to the end.
func chunkwatch(_ arguments: [String], stdin: Child.Input = .null, stdout: Child.Output = .capture,
                timeout: Double = 60) throws -> RunResult {
    try Child(arguments, stdin: stdin, stdout: stdout, timeout: timeout).wait()
}

func chunkwatch(_ arguments: String..., stdin: Child.Input = .null, timeout: Double = 60) throws -> RunResult {
    try chunkwatch(arguments, stdin: stdin, timeout: timeout)
}

/// A fresh directory under the system's temp directory, removed by `remove()`.
struct TempDir: Sendable {
    let path: String

    init(_ function: String = #function) throws {
        let name = "chunkwatch-cli-" + function.prefix(while: { $0.isLetter || $0.isNumber }) + "-" + UUID().uuidString.prefix(8)
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent(name)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        try write(name, Data(text.utf8))
    }

    @discardableResult
    func write(_ name: String, _ data: Data) throws -> String {
        let p = path(name)
        try data.write(to: URL(fileURLWithPath: p))
        return p
    }

    func read(_ name: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path(name))) }
    func readText(_ name: String) throws -> String { String(decoding: try read(name), as: UTF8.self) }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

struct ToolMissing: Error, CustomStringConvertible {
    var searched: [String]
    var description: String {
        "the lz4 tool is not installed (looked for \(searched.joined(separator: ", "))); `apt-get install lz4` (make test does)"
    }
}

/// The `lz4` tool, a hard requirement of these tests (`make test` installs it).
func lz4(_ arguments: [String]) throws {
    let candidates = ["/usr/bin/lz4", "/usr/local/bin/lz4", "/opt/homebrew/bin/lz4"]
    guard let tool = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
        throw ToolMissing(searched: candidates)
    }
    let r = try runSubprocess(tool, ["-q", "-f"] + arguments)
    try #require(r.succeeded, "lz4 \(arguments.joined(separator: " ")) failed (status \(r.status)): \(r.stderrText)")
}
