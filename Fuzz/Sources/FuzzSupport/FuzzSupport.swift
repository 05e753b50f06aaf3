#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Stops the run when an invariant does not hold: libFuzzer sees the abort,
/// writes the input to a `crash-…` file and the script reports it.
@inline(__always)
public func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fail(message()) }
}

public func fail(_ message: String) -> Never {
    var line = Array("fuzz invariant broken: \(message)\n".utf8)
    _ = write(2, &line, line.count)
    abort()
}

/// Where one input is cut into the pieces a stream decoder is fed, chosen
/// from the input's own bytes, so the same input always splits the same way
/// (a crash file reproduces) and every mutation tries other cuts: single
/// bytes, a few bytes, a few KiB, or the rest at once.
public struct Splits {
    private var state: UInt64

    public init(_ bytes: UnsafeRawBufferPointer) {
        // FNV-1a over the input, then never 0 for the xorshift.
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        state = h | 1
    }

    public mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }

    /// A number in `0..<n`.
    public mutating func pick(_ n: Int) -> Int { Int(next() % UInt64(n)) }

    /// The size of the next piece when `remaining` bytes are left (at least 1).
    public mutating func pieceSize(remaining: Int) -> Int {
        let size: Int
        switch pick(8) {
        case 0, 1: size = 1
        case 2, 3: size = 1 + pick(16)
        case 4, 5: size = 1 + pick(4096)
        case 6: size = 1 + pick(64 * 1024)
        default: size = remaining
        }
        return Swift.max(1, Swift.min(size, remaining))
    }

    /// Calls `body` with consecutive pieces that together make up `bytes`.
    public mutating func pieces(of bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        var offset = 0
        while offset < bytes.count {
            let n = pieceSize(remaining: bytes.count - offset)
            try body(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)]))
            offset += n
        }
    }
}

/// The input libFuzzer hands over, as a buffer (a zero-length input may come without a pointer).
public func fuzzInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> UnsafeRawBufferPointer {
    guard let data, size > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
    return UnsafeRawBufferPointer(start: data, count: size)
}

/// A private directory for targets that need files, made once per process
/// under `$TMPDIR` (scripts/fuzz.sh points it into the build folder and
/// removes it); each input's files overwrite the previous input's.
public final class ScratchDirectory: Sendable {
    public let path: String

    public init(_ name: String) {
        let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array("\(base)/chunkwatch-\(name)-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { fail("cannot create a scratch directory in /tmp") }
        path = String(cString: made)
    }

    /// Writes `bytes` to `name` in the directory and returns its path.
    public func write(_ bytes: UnsafeRawBufferPointer, to name: String) -> String {
        let file = path + "/" + name
        let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        require(fd >= 0, "cannot create \(file)")
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            require(n > 0, "cannot write \(file)")
            offset += n
        }
        close(fd)
        return file
    }
}
