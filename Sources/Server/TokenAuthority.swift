#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a token may do. Least privilege: each role does one job.
public enum Role: String, Sendable, CaseIterable {
    /// Send events (`POST /v1/events`, the TCP ingest listener): nothing else.
    case ingest
    /// Read alerts, the stream, baselines, detectors and metrics.
    case read
    /// Read, and change detectors live (`PUT /v1/detectors/{name}`).
    case admin

    /// Whether a token of this role may do what `needed` allows.
    func grants(_ needed: Role) -> Bool {
        switch (self, needed) {
        case (.admin, .read), (.admin, .admin), (.read, .read), (.ingest, .ingest): true
        default: false
        }
    }
}

/// The bearer tokens the daemon accepts, each with a name (recorded with the
/// changes it makes) and a role. With none configured the daemon serves
/// loopback only, and every caller may do everything.
public struct TokenAuthority: Sendable {
    public struct Token: Sendable, Equatable {
        public var name: String
        public var role: Role
        public var secret: String
        public init(name: String, role: Role, secret: String) {
            self.name = name
            self.role = role
            self.secret = secret
        }
    }

    public let tokens: [Token]
    public init(tokens: [Token] = []) { self.tokens = tokens }

    public var requiresTokens: Bool { !tokens.isEmpty }

    /// The token a bearer secret names, compared in constant time.
    public func token(secret: String) -> Token? {
        tokens.first { Self.constantTimeEqual($0.secret, secret) }
    }

    /// What an `Authorization` header may do: `.allowed(token)` (nil when no
    /// tokens are configured), or why not.
    public enum Decision: Equatable, Sendable {
        case allowed(Token?)
        case unauthenticated
        case forbidden(Token)
    }

    public func decide(authorization: String?, needs role: Role) -> Decision {
        guard requiresTokens else { return .allowed(nil) }
        guard let authorization, authorization.lowercased().hasPrefix("bearer "),
            let token = token(secret: String(authorization.dropFirst(7)).trimmingSpaces)
        else { return .unauthenticated }
        return token.role.grants(role) ? .allowed(token) : .forbidden(token)
    }

    /// The TCP listener's hello line: `AUTH <token>`.
    func allows(authLine: String, role: Role) -> Bool {
        var line = Substring(authLine)
        if line.hasSuffix("\r") { line = line.dropLast() }
        guard line.hasPrefix("AUTH ") else { return false }
        guard let token = token(secret: String(line.dropFirst(5)).trimmingSpaces) else { return false }
        return token.role.grants(role)
    }

    /// Reads a tokens file: one token a line, `ROLE NAME SECRET`; `#` starts a comment.
    public static func load(path: String) throws(ServerError) -> TokenAuthority {
        guard let f = fopen(path, "r") else {
            throw ServerError("\(path): cannot open the tokens file: \(String(cString: strerror(errno)))")
        }
        defer { fclose(f) }
        var tokens: [Token] = []
        var lineNumber = 0
        var buffer = [CChar](repeating: 0, count: 4096)
        while fgets(&buffer, Int32(buffer.count), f) != nil {
            lineNumber += 1
            let text = String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let line = text.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" })
            if fields.isEmpty { continue }
            guard fields.count == 3, let role = Role(rawValue: String(fields[0])) else {
                throw ServerError("\(path):\(lineNumber): expected 'ROLE NAME SECRET' with ROLE one of ingest, read, admin")
            }
            guard fields[2].count >= 16 else {
                throw ServerError("\(path):\(lineNumber): the secret of '\(fields[1])' is shorter than 16 characters; use a long random one")
            }
            tokens.append(Token(name: String(fields[1]), role: role, secret: String(fields[2])))
        }
        if tokens.isEmpty { throw ServerError("\(path): no tokens in the file") }
        return TokenAuthority(tokens: tokens)
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let (x, y) = (Array(a.utf8), Array(b.utf8))
        var diff = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<Swift.min(x.count, y.count) { diff |= x[i] ^ y[i] }
        return diff == 0
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" || c == "\r" || c == "\n" { s = s.dropLast() }
        return String(s)
    }
}
