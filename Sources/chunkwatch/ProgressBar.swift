#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ChunkModel

/// A one-line progress display on stderr, redrawn at most ten times a second,
/// and only when stderr is a terminal: piped or redirected runs print nothing.
final class ProgressBar {
    let enabled: Bool
    private let totalBytes: Int?
    private let started = Timestamp.now()
    private var lastDraw = Timestamp(nanoseconds: 0)
    private var drawn = false

    init(totalBytes: Int?, enabled: Bool = isatty(2) == 1) {
        self.enabled = enabled
        self.totalBytes = totalBytes
    }

    func update(bytes: Int, events: Int, alerts: Int) {
        guard enabled else { return }
        let now = Timestamp.now()
        guard (now - lastDraw) >= .milliseconds(100) else { return }
        lastDraw = now
        draw(bytes: bytes, events: events, alerts: alerts, now: now)
    }

    func finish() {
        guard enabled, drawn else { return }
        writeStderr("\r\u{1B}[2K")
    }

    private func draw(bytes: Int, events: Int, alerts: Int, now: Timestamp) {
        let seconds = max((now - started).secondsDouble, 0.001)
        var line = ""
        if let total = totalBytes, total > 0 {
            let fraction = min(1, Double(bytes) / Double(total))
            let width = 24
            let filled = Int(fraction * Double(width))
            line += "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] "
            line += "\(Int(fraction * 100))%  \(Format.bytes(Double(bytes)))/\(Format.bytes(Double(total)))  "
        } else {
            line += "\(Format.bytes(Double(bytes))) read  "
        }
        line += "\(Self.count(events)) events  \(Self.count(Double(events) / seconds))/s  \(alerts) alerts"
        writeStderr("\r\u{1B}[2K" + line)
        drawn = true
    }

    /// `950`, `12.3 k`, `4.1 M`.
    static func count(_ n: some BinaryInteger) -> String { count(Double(n)) }

    static func count(_ n: Double) -> String {
        if n >= 1e6 { return "\(Format.decimal(n / 1e6, 2)) M" }
        if n >= 1e4 { return "\(Format.decimal(n / 1e3, 1)) k" }
        return "\(Int(n))"
    }
}

extension Duration {
    var secondsDouble: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }
}
