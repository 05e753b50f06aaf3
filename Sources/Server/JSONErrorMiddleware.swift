import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Writes every refusal of the API as `{"error": "…"}` (SPEC §8), with the
/// status and headers the route chose: one line a client can show as it is.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            guard let message = error.body else { throw error }
            var data = (try? JSONEncoder().encode(["error": message])) ?? Data(#"{"error":"refused"}"#.utf8)
            data.append(UInt8(ascii: "\n"))
            var headers = error.headers
            headers[.contentType] = "application/json"
            return Response(status: error.status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
    }
}
