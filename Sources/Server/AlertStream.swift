import HTTPTypes
import Hummingbird
import NIOCore
import Store

/// One `GET /v1/alerts/stream` response: Server-Sent Events, one alert line
/// per event with its store position as the event id.
///
/// It subscribes to the hub before reading the store, then sends what the
/// store holds after the client's `Last-Event-ID`, then the live alerts it
/// has not sent yet — so nothing that was stored is missed, and nothing is
/// sent twice. When the hub ends the stream (shutdown, or this client fell
/// too far behind) the response ends and the client resumes with the last id.
struct AlertStream: Sendable {
    let hub: AlertHub
    let reads: ReadStore
    let query: AlertQuery

    func response() -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            try await stream(&writer)
            try await writer.finish(nil)
        })
    }

    private func stream(_ writer: inout any ResponseBodyWriter) async throws {
        guard let live = hub.subscribe() else { return }
        // An opening comment, so the client sees the stream is up before any alert.
        try await writer.write(ByteBuffer(string: ": chunkwatch alert stream\n\n"))
        var last = query.afterSeq
        while true {
            var page = query
            page.afterSeq = last
            page.limit = 1000
            let rows = try reads.lines(page)
            for r in rows { try await writer.write(Self.event(seq: r.seq, line: r.line)) }
            guard let end = rows.last else { break }
            last = end.seq
            if rows.count < page.limit { break }
        }
        for await event in live {
            switch event {
            case .alert(let a):
                guard a.seq > last else { continue }
                last = a.seq
                if query.matches(a.alert) { try await writer.write(Self.event(seq: a.seq, line: a.line)) }
            case .heartbeat:
                try await writer.write(ByteBuffer(string: ": keepalive\n\n"))
            }
        }
    }

    static func event(seq: Int, line: String) -> ByteBuffer {
        var b = ByteBuffer()
        b.writeString("id: \(seq)\nevent: alert\ndata: ")
        b.writeString(line)
        b.writeString("\n\n")
        return b
    }
}
