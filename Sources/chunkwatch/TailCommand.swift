#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import ChunkModel
import Foundation
import Server
import Store

struct TailCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail",
        abstract: "Show alerts from a running daemon or a database, and follow new ones.",
        discussion: """
            One line per alert: event time, severity, status, detector, principal and the message \
            (--json prints the alert lines as NDJSON, SPEC §3). From a server it reads the \
            /v1/alerts/stream Server-Sent Events and, when the connection drops, reconnects and \
            resumes after the last alert it printed: nothing is lost or shown twice.

            Examples:
              chunkwatch tail --server http://127.0.0.1:7070 --follow --min-severity high
              chunkwatch tail --db chunkwatch.db --since 2h --principal svc-billing --json
            """
    )

    @Option(name: .long, help: ArgumentHelp("The daemon's HTTP address.", valueName: "url"))
    var server: String?

    @Option(name: .long, help: ArgumentHelp("Read a database file instead of a server.", valueName: "file"))
    var db: String?

    @Flag(name: [.short, .long], help: "Keep waiting for new alerts.")
    var follow = false

    @Option(name: .long, help: ArgumentHelp("Only alerts active since this time: RFC 3339, or a duration back from now (15m, 2h, 7d).", valueName: "time"))
    var since: String?

    @Option(name: .long, help: ArgumentHelp("Only alerts of this severity or above: info, low, medium, high, critical.", valueName: "severity"))
    var minSeverity: String?

    @Option(name: .long, help: ArgumentHelp("Only alerts for this principal.", valueName: "name"))
    var principal: String?

    @Option(name: .long, help: ArgumentHelp("Only alerts from this detector.", valueName: "name"))
    var detector: String?

    @Flag(name: .long, help: "Print the alert lines as NDJSON.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("Bearer token with the read role (default: $CHUNKWATCH_TOKEN).", valueName: "secret"))
    var token: String?

    func validate() throws {
        if (server == nil) == (db == nil) { throw ValidationError("give one of --server URL or --db FILE") }
        if let minSeverity, Severity(name: minSeverity) == nil {
            throw ValidationError("--min-severity must be one of info, low, medium, high, critical")
        }
        if let since, case .failure(let problem) = parseSince(since) {
            throw ValidationError("--since: \(problem)")
        }
    }

    func run() throws {
        let printer = AlertPrinter(json: json, color: isatty(1) == 1)
        if let db { try tailDatabase(db, printer) } else if let server { try tailServer(server, printer) }
    }

    private var query: AlertQuery {
        var q = AlertQuery()
        q.since = since.flatMap { try? parseSince($0).get() }
        q.minSeverity = minSeverity.flatMap { Severity(name: $0) }
        q.principal = principal
        q.detector = detector
        return q
    }

    private func tailDatabase(_ path: String, _ printer: AlertPrinter) throws {
        guard access(path, R_OK) == 0 else { throw CLIError("\(path): no such database (start `chunkwatch serve --db \(path)` or run a backfill with --db)") }
        let store: AlertStore
        do { store = try AlertStore(path: path) } catch { throw CLIError(error.description) }
        var q = query
        while true {
            let rows: [(seq: Int, line: String)]
            do { rows = try store.lines(q) } catch { throw CLIError(error.description) }
            for r in rows { printer.print(r.line) }
            if let last = rows.last { q.afterSeq = last.seq }
            if rows.count == q.limit { continue }
            if !follow { return }
            usleep(500_000)
        }
    }

    private func tailServer(_ url: String, _ printer: AlertPrinter) throws {
        let client: HTTPStreamClient
        do { client = try HTTPStreamClient(url: url) } catch { throw CLIError("--server: \(error)") }
        var params: [String] = []
        if let since { params.append("since=" + Self.escape(since)) }
        if let minSeverity { params.append("min_severity=" + minSeverity) }
        if let principal { params.append("principal=" + Self.escape(principal)) }
        if let detector { params.append("detector=" + Self.escape(detector)) }
        var headers: [(String, String)] = []
        if let secret = token ?? ProcessInfo.processInfo.environment["CHUNKWATCH_TOKEN"] {
            headers.append(("Authorization", "Bearer \(secret)"))
        }
        if !follow {
            var body: [UInt8] = []
            let path = "/v1/alerts?" + (params + ["limit=100000"]).joined(separator: "&")
            do {
                try client.get(path, headers: headers) { bytes in body += bytes }
            } catch let f as HTTPStreamClient.Failure {
                throw CLIError("\(url): \(f.description)")
            }
            for l in body.split(separator: UInt8(ascii: "\n")) { printer.print(String(decoding: l, as: UTF8.self)) }
            return
        }
        var lastID: String?
        var delay: UInt32 = 1
        while true {
            var h = headers
            if let lastID { h.append(("Last-Event-ID", lastID)) }
            var parser = SSEParser()
            do {
                try client.get("/v1/alerts/stream?" + params.joined(separator: "&"), headers: h) { bytes in
                    delay = 1
                    parser.feed(bytes) { id, data in
                        if let id { lastID = id }
                        printer.print(data)
                    }
                }
                printError("the server ended the stream; reconnecting")
            } catch let f as HTTPStreamClient.Failure {
                if f.permanent { throw CLIError("\(url): \(f.description)") }
                printError("\(url): \(f.description); reconnecting in \(delay) s")
            }
            sleep(delay)
            delay = Swift.min(delay * 2, 10)
        }
    }

    static func escape(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "&=+"))) ?? s
    }
}

/// Server-Sent Events framing: `id:` and `data:` fields, an event per blank line.
struct SSEParser {
    private var line: [UInt8] = []
    private var id: String?
    private var data: String?

    mutating func feed(_ bytes: [UInt8], _ event: (_ id: String?, _ data: String) -> Void) {
        for b in bytes {
            if b != UInt8(ascii: "\n") {
                line.append(b)
                continue
            }
            if line.last == UInt8(ascii: "\r") { line.removeLast() }
            let text = String(decoding: line, as: UTF8.self)
            line.removeAll(keepingCapacity: true)
            if text.isEmpty {
                if let d = data { event(id, d) }
                id = nil
                data = nil
            } else if text.hasPrefix("id:") {
                id = String(text.dropFirst(3)).trimmingCharacters(in: .whitespaces)
            } else if text.hasPrefix("data:") {
                let d = text.dropFirst(5).drop(while: { $0 == " " })
                data = data.map { $0 + "\n" + d } ?? String(d)
            }
        }
    }
}

/// Prints alert lines: as they are (--json), or one readable line each.
struct AlertPrinter {
    let json: Bool
    let color: Bool

    func print(_ line: String) {
        if json {
            writeStdout(line + "\n")
            return
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            writeStdout(line + "\n")
            return
        }
        let ts = object["first_ts"] as? String ?? "?"
        let severity = object["severity"] as? String ?? "?"
        let status = object["status"] as? String ?? "?"
        let detector = object["detector"] as? String ?? "?"
        let principal = object["principal"] as? String ?? "?"
        let message = object["message"] as? String ?? ""
        let count = object["count"] as? Int ?? 1
        var sev = severity.uppercased().padding(toLength: 8, withPad: " ", startingAt: 0)
        if color { sev = Self.paint(severity) + sev + "\u{1B}[0m" }
        let mark = status == "resolved" ? "resolved (\(count)×) " : (count > 1 ? "(\(count)×) " : "")
        writeStdout("\(ts)  \(sev) \(detector.padding(toLength: 11, withPad: " ", startingAt: 0)) \(principal)  \(mark)\(message)\n")
    }

    static func paint(_ severity: String) -> String {
        switch severity {
        case "critical": "\u{1B}[1;31m"
        case "high": "\u{1B}[31m"
        case "medium": "\u{1B}[33m"
        case "low": "\u{1B}[36m"
        default: "\u{1B}[2m"
        }
    }
}
