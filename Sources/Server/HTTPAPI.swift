import ChunkModel
import Config
import Foundation
import HTTPTypes
import Hummingbird
import Ingest
import NIOCore
import Store
import Synchronization

/// The HTTP API of `serve` (SPEC §6). Every route but `/healthz` checks its
/// bearer token's role first; without configured tokens the daemon listens on
/// loopback only and every caller may do everything.
struct HTTPAPI: Sendable {
    let queue: IngestQueue
    let hub: AlertHub
    let reads: ReadStore
    let auth: TokenAuthority
    let metrics: ServerMetrics
    let detectors: DetectorControl
    /// Largest `POST /v1/events` body taken at once.
    let maxBody: Int

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: JSONErrorMiddleware())
        router.get("healthz") { _, _ in
            try json(["status": queue.isClosed ? "stopping" : "ok"])
        }
        router.post("v1/events") { request, context in
            _ = try authorize(request, .ingest)
            var request = request
            let body: ByteBuffer
            do {
                body = try await request.collectBody(upTo: maxBody)
            } catch {
                throw HTTPError(.contentTooLarge, message: "the body is over \(maxBody) bytes: send it in smaller requests")
            }
            let report: IngestReport? = await withCheckedContinuation { c in
                Task {
                    if !(await queue.push(.body(body, reply: { c.resume(returning: $0) }))) { c.resume(returning: nil) }
                }
            }
            guard let report else { throw HTTPError(.serviceUnavailable, message: "the daemon is stopping") }
            guard report.durable else {
                throw HTTPError(
                    .serviceUnavailable,
                    message: "the events were read but the archive could not be written (see the daemon's log): send them again")
            }
            return try encode(report.json)
        }
        router.get("v1/alerts") { request, _ in
            _ = try authorize(request, .read)
            let query = try alertQuery(request)
            let rows = try reads.lines(query)
            var buffer = ByteBuffer()
            for r in rows {
                buffer.writeString(r.line)
                buffer.writeString("\n")
            }
            var headers = HTTPFields()
            headers[.contentType] = "application/x-ndjson"
            if let last = rows.last { headers[HTTPField.Name("X-Last-Seq")!] = String(last.seq) }
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: buffer))
        }
        router.get("v1/alerts/stream") { request, _ in
            _ = try authorize(request, .read)
            var query = try alertQuery(request)
            if let id = request.headers[HTTPField.Name("Last-Event-ID")!].flatMap({ Int($0) }) { query.afterSeq = id }
            return AlertStream(hub: hub, reads: reads, query: query).response()
        }
        router.get("v1/baselines") { request, _ in
            _ = try authorize(request, .read)
            let principal = request.uri.queryParameters.get("principal")
            let snapshot: BaselineSnapshot? = await withCheckedContinuation { c in
                Task {
                    let queued = await queue.push(.control { control in c.resume(returning: BaselineSnapshot(control, principal: principal)) })
                    if !queued { c.resume(returning: nil) }
                }
            }
            guard let snapshot else { throw HTTPError(.serviceUnavailable, message: "the daemon is stopping") }
            return try encode(snapshot)
        }
        router.get("v1/detectors") { request, _ in
            _ = try authorize(request, .read)
            let config = detectors.current
            return try encode(ChunkWatchConfig.detectorSections.map { DetectorView(config, $0.name) })
        }
        router.get("v1/detectors/:name") { request, context in
            _ = try authorize(request, .read)
            let name = try context.parameters.require("name")
            guard ChunkWatchConfig.section(named: name) != nil else {
                throw HTTPError(.notFound, message: "no detector '\(name)'")
            }
            var view = DetectorView(detectors.current, name)
            view.changes = try detectors.history(detector: name).map(ChangeView.init)
            return try encode(view)
        }
        router.put("v1/detectors/:name") { request, context in
            let caller = try authorize(request, .admin)
            let name = try context.parameters.require("name")
            var request = request
            let body = try await request.collectBody(upTo: 64 * 1024)
            let values = try parameterValues(body)
            do {
                _ = try await detectors.change(detector: name, values: values, source: "api", token: caller?.name)
            } catch let error as TuningError {
                let status: HTTPResponse.Status = ChunkWatchConfig.section(named: name) == nil ? .notFound : .unprocessableContent
                throw HTTPError(status, message: error.description + "")
            }
            return try encode(DetectorView(detectors.current, name))
        }
        router.get("metrics") { request, _ in
            _ = try authorize(request, .read)
            metrics.queueBytes.record(queue.depth.bytes)
            metrics.sseSubscribers.record(hub.subscriberCount)
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: metrics.render())))
        }
        return router
    }

    /// The caller's token (nil when none are configured), or the refusal.
    private func authorize(_ request: Request, _ role: Role) throws -> TokenAuthority.Token? {
        switch auth.decide(authorization: request.headers[.authorization], needs: role) {
        case .allowed(let token): return token
        case .unauthenticated:
            throw HTTPError(
                .unauthorized, headers: [.wwwAuthenticate: "Bearer"],
                message: "a bearer token with the \(role.rawValue) role is needed")
        case .forbidden(let token):
            throw HTTPError(.forbidden, message: "token '\(token.name)' has the \(token.role.rawValue) role; this needs \(role.rawValue)")
        }
    }

    private func alertQuery(_ request: Request) throws -> AlertQuery {
        let q = request.uri.queryParameters
        var query = AlertQuery()
        if let since = q.get("since") {
            switch parseSince(since) {
            case .success(let t): query.since = t
            case .failure(let problem): throw HTTPError(.badRequest, message: "since: \(problem)")
            }
        }
        if let s = q.get("min_severity") {
            guard let severity = Severity(name: s) else {
                throw HTTPError(.badRequest, message: "min_severity: expected one of info, low, medium, high, critical")
            }
            query.minSeverity = severity
        }
        query.principal = q.get("principal")
        query.detector = q.get("detector")
        if let after = q.get("after") {
            guard let n = Int(after), n >= 0 else { throw HTTPError(.badRequest, message: "after: expected a store position") }
            query.afterSeq = n
        }
        if let limit = q.get("limit") {
            guard let n = Int(limit), n > 0 else { throw HTTPError(.badRequest, message: "limit: expected a positive number") }
            query.limit = Swift.min(n, 100_000)
        }
        return query
    }

    /// `{"threshold": 7.5, "cooldown": "15m"}`: numbers, strings and booleans.
    private func parameterValues(_ body: ByteBuffer) throws -> [(String, String)] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any] else {
            throw HTTPError(.badRequest, message: "expected a JSON object of parameter values, e.g. {\"threshold\": 7.5}")
        }
        return try object.keys.sorted().map { key in
            switch object[key] {
            case let b as Bool where type(of: object[key]!) == type(of: NSNumber(value: true)): return (key, b ? "true" : "false")
            case let n as NSNumber: return (key, n.stringValue)
            case let s as String: return (key, s)
            default: throw HTTPError(.badRequest, message: "\(key): expected a number, a duration string or a boolean")
            }
        }
    }
}

/// `since` as tail and `GET /v1/alerts` take it: an RFC 3339 time, or a
/// duration back from `now` (`DurationText`, at most 50 years). A well-formed
/// time beyond what a `Timestamp` holds (before 1678, after 2262) is taken as
/// the nearest one it holds: "since 0001-01-01" means "everything".
public func parseSince(_ text: String, now: Timestamp = Timestamp.now()) -> Result<Timestamp, SinceError> {
    var bytes = text
    let rfc3339: Timestamp?? = bytes.withUTF8 { u in
        let raw = UnsafeRawBufferPointer(u)
        guard let minute = Timestamp.rfc3339Minute(raw), let (seconds, _) = Timestamp.rfc3339Instant(raw, minute: minute) else { return nil }
        return .some(Timestamp(rfc3339: raw, minute: minute) ?? Timestamp(nanoseconds: seconds < 0 ? .min : .max))
    }
    if let rfc3339 { return .success(rfc3339!) }
    do {
        let d = try DurationText.parse(text, plainSeconds: false)
        return .success(Timestamp(nanoseconds: now.nanoseconds.clampedSubtracting(d.nanosecondsClamped)))
    } catch {
        return .failure(SinceError(error))
    }
}

/// Why a `since` was refused: one line, for a 400 body or a usage error.
public struct SinceError: Error, CustomStringConvertible {
    public let description: String

    init(_ error: DurationError) {
        description =
            error.kind == .malformed
            ? "expected an RFC 3339 time or a duration such as 15m, 2h, 7d, got '\(error.text)'" : error.description
    }
}

func encode<T: Encodable>(_ value: T) throws -> Response {
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.outputFormatting = [.sortedKeys]
    var data = try encoder.encode(value)
    data.append(UInt8(ascii: "\n"))
    var headers = HTTPFields()
    headers[.contentType] = "application/json"
    return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
}

func json(_ fields: [String: String]) throws -> Response { try encode(fields) }

extension IngestReport {
    struct JSON: Encodable {
        var accepted: Int
        var rejected: Int
        var rejectedByReason: [String: Int]
        var dropReports: Int
    }
    var json: JSON {
        JSON(accepted: accepted, rejected: rejected.values.reduce(0, +), rejectedByReason: rejected, dropReports: dropReports)
    }
}

/// Alert reads for the API, on a connection of their own (WAL: they never
/// block the pipeline's writes).
final class ReadStore: Sendable {
    private let store: Mutex<AlertStore>
    init(path: String) throws(StoreError) { store = Mutex(try AlertStore(path: path)) }

    func lines(_ query: AlertQuery) throws(StoreError) -> [(seq: Int, line: String)] {
        try store.withLock { s throws(StoreError) in try s.lines(query) }
    }
}
