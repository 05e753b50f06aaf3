#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// A helper program (sh, lz4, curl…) run to its end for a test.
///
/// Never through `Process.waitUntilExit()`: on Linux it spins the calling
/// thread's run loop until Foundation reports the exit there, and off the
/// main thread that report can fail to arrive, parking the thread — in a
/// test, a thread of the cooperative pool, and with two cores the whole
/// suite — forever. The exit is taken from `terminationHandler`, set
/// before the program starts so a quick exit cannot be missed, and the wait
/// is bounded: past `timeout` the program is killed and the run says so.
public struct SubprocessResult: Sendable {
    public var status: Int32
    public var stdout: Data
    public var stderr: Data
    public var timedOut: Bool

    public var succeeded: Bool { !timedOut && status == 0 }
    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
}

public struct SubprocessError: Error, CustomStringConvertible {
    public var description: String
}

/// Runs `executable arguments…` with stdin from /dev/null (or `stdin`), both
/// outputs captured, and returns once it has exited and both pipes are at
/// end of file, or once `timeout` seconds have passed and it was killed.
public func runSubprocess(
    _ executable: String, _ arguments: [String], stdin: FileHandle? = nil, timeout: Double = 120
) throws -> SubprocessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.standardInput = stdin ?? FileHandle.nullDevice
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    let exit = ExitSignal()
    exit.watch(process)
    do {
        try process.run()
    } catch {
        throw SubprocessError(description: "cannot start \(executable): \(error)")
    }
    try? out.fileHandleForWriting.close()
    try? err.fileHandleForWriting.close()
    let stdoutBytes = PipeReader(out.fileHandleForReading)
    let stderrBytes = PipeReader(err.fileHandleForReading)
    let timedOut = !exit.wait(process, timeout: timeout)
    return SubprocessResult(
        status: process.terminationStatus, stdout: stdoutBytes.finish().data, stderr: stderrBytes.finish().data, timedOut: timedOut)
}

/// `sh -c command`'s standard output, whatever its exit status (the tests
/// compare the output); only a hang past `timeout` is an error.
public func shell(_ command: String, timeout: Double = 120) throws -> String {
    let r = try runSubprocess("/bin/sh", ["-c", command], timeout: timeout)
    if r.timedOut {
        throw SubprocessError(description: "sh -c '\(command)' did not end within \(timeout) s: \(r.stderrText.suffix(2000))")
    }
    return r.stdoutText
}

/// The end of one program, told by its termination handler.
public final class ExitSignal: Sendable {
    private let exited = DispatchSemaphore(value: 0)
    private let done = Mutex(false)

    public init() {}

    /// Call before `process.run()`.
    public func watch(_ process: Process) {
        process.terminationHandler = { [self] _ in
            done.withLock { $0 = true }
            exited.signal()
        }
    }

    public var hasExited: Bool { done.withLock { $0 } }

    /// True once the program has exited; false when it was still running
    /// after `timeout` seconds and was killed (SIGKILL) — this still waits
    /// for that kill to be reported, a few seconds at most.
    @discardableResult
    public func wait(_ process: Process, timeout: Double) -> Bool {
        if exited.wait(timeout: .now() + timeout) == .success {
            exited.signal()
            return true
        }
        // Under the same lock the handler takes, so a pid already reaped is never signalled.
        done.withLock { hasExited in if !hasExited { kill(process.processIdentifier, SIGKILL) } }
        if exited.wait(timeout: .now() + 10) == .success { exited.signal() }
        return false
    }
}

/// A pipe read to its end on a thread of its own, so a chatty program never
/// blocks on a full pipe while it is waited for.
public final class PipeReader: Sendable {
    private let data = Mutex(Data())
    private let done = DispatchSemaphore(value: 0)

    public init(_ handle: FileHandle) {
        let thread = Thread { [self] in
            let bytes = handle.readDataToEndOfFile()
            data.withLock { $0 = bytes }
            try? handle.close()
            done.signal()
        }
        thread.start()
    }

    /// What was read, once the pipe is at end of file or `timeout` seconds
    /// have passed (a grandchild holding the pipe open must not hang the
    /// caller); `complete` says which.
    public func finish(timeout: Double = 10) -> (data: Data, complete: Bool) {
        let complete = done.wait(timeout: .now() + timeout) == .success
        if complete { done.signal() }
        return (data.withLock { $0 }, complete)
    }
}
