/// A compact binary form of `Codable` values, for checkpoints of baselines:
/// values in declaration order, no keys, little-endian fixed-width numbers, a
/// presence byte before every optional and a count before every sequence.
/// Arrays of plain numbers (`[Float]`, `[UInt64]`, …) — nearly all of a
/// baseline's bytes — are copied as raw memory, so a checkpoint of a million
/// keys takes milliseconds, not seconds.
///
/// The form depends on the declarations: it is for the same build to read back
/// (a checkpoint carries the build's layout fingerprint; see `Checkpoint`).
public enum BinaryCoding {
    public static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let e = BinaryEncoderImpl()
        try e.encodeValue(value)
        return e.bytes
    }

    /// The bytes `encode` gives, handed to `sink` in order in pieces of about
    /// `blockSize` (and up to `blockSize`) bytes, never all at once: arrays of
    /// plain numbers go to it straight from their own memory, so a checkpoint
    /// of a gigabyte of baselines is written without a gigabyte of copies.
    /// Only what sits inside a sequence of values that are not plain numbers
    /// (whose count is filled in at the end) waits in a buffer until it closes.
    public static func encode<T: Encodable>(
        _ value: T, blockSize: Int = 1 << 20, to sink: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        try withoutActuallyEscaping(sink) { sink in
            let e = BinaryEncoderImpl()
            e.sink = sink
            e.blockSize = Swift.max(1, blockSize)
            try e.encodeValue(value)
            try e.flush(force: true)
        }
    }

    /// How many bytes `encode` gives for `value`, without keeping them.
    public static func encodedCount<T: Encodable>(_ value: T) throws -> Int {
        var n = 0
        try encode(value, blockSize: 1 << 16) { n += $0.count }
        return n
    }

    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        let d = BinaryDecoderImpl(bytes)
        let v = try d.decodeValue(type)
        guard d.offset == bytes.count else { throw BinaryCodingError("\(bytes.count - d.offset) bytes left over after \(T.self)", at: d.offset) }
        return v
    }
}

/// Why a value could not be encoded or decoded, and at which byte: decoding
/// never trusts a count or length it reads, so a corrupt or hostile checkpoint
/// ends here, not in a wild read or an allocation it cannot make.
public struct BinaryCodingError: Error, CustomStringConvertible {
    /// What went wrong.
    public var message: String
    /// Byte offset into the encoded form where it went wrong (for encoding, the bytes written so far).
    public var offset: Int

    init(_ message: String, at offset: Int) {
        self.message = message
        self.offset = offset
    }

    public var description: String { "\(message) (at byte \(offset))" }
}

/// The number of bytes `count` elements of `stride` bytes take, when they fit
/// in the `available` bytes left; nil for a negative count, for a product that
/// overflows, and for one that runs past the end.
@inline(__always)
private func byteCount(_ count: Int, stride: Int, available: Int) -> Int? {
    guard count >= 0 else { return nil }
    let (size, overflow) = count.multipliedReportingOverflow(by: stride)
    return !overflow && size <= available ? size : nil
}

/// The arrays copied as raw memory: fixed-width numbers with no padding.
private struct RawArrayCodec {
    let append: (Any, inout [UInt8]) -> Void
    /// The element count and the array's memory.
    let memory: (Any, (Int, UnsafeRawBufferPointer) throws -> Void) throws -> Void
    let read: ([UInt8], inout Int) throws -> Any

    static func of<Element: BitwiseCopyable>(_: Element.Type) -> RawArrayCodec { ofPlainData(Element.self) }
}

/// A plain struct of numbers (no references, no padding that matters) whose
/// arrays a checkpoint may copy as raw memory: baselines keep most of their
/// state in arrays of such structs, and encoding them field by field made a
/// checkpoint of 300 k keys take over a second. The form is for the same build
/// only, which checkpoints check.
public protocol RawCheckpointable: Codable {}

private protocol RawElementArray {
    static var rawCodec: RawArrayCodec? { get }
}

extension Array: RawElementArray where Element: RawCheckpointable {
    fileprivate static var rawCodec: RawArrayCodec? {
        // Checked, not trusted: an element with a reference inside takes the safe path.
        _isPOD(Element.self) ? .ofPlainData(Element.self) : nil
    }
}

extension RawArrayCodec {
    /// For elements known only to be plain data (checked with `_isPOD` by the caller).
    fileprivate static func ofPlainData<Element>(_: Element.Type) -> RawArrayCodec {
        RawArrayCodec(
            append: { any, bytes in
                let a = any as! [Element]
                appendInt(a.count, to: &bytes)
                a.withUnsafeBytes { bytes.append(contentsOf: $0) }
            },
            memory: { any, body in
                let a = any as! [Element]
                try a.withUnsafeBytes { try body(a.count, $0) }
            },
            read: { bytes, offset in
                let at = offset
                let n = try readInt(bytes, at: &offset)
                guard let size = byteCount(n, stride: MemoryLayout<Element>.stride, available: bytes.count - offset) else {
                    throw BinaryCodingError("an array of \(n) \(Element.self) does not fit in the \(bytes.count - offset) bytes left", at: at)
                }
                let start = offset
                let out = [Element](unsafeUninitializedCapacity: n) { buffer, count in
                    bytes.withUnsafeBytes { raw in
                        UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[start..<(start + size)]))
                    }
                    count = n
                }
                offset += size
                return out
            })
    }
}

/// Which array types take the raw path: arrays of fixed-width numbers, and of
/// plain structs that opt in (Bool and enums alone stay on the checked path).
private func rawArrayType(_ t: Any.Type) -> RawArrayCodec? {
    if let plain = t as? any RawElementArray.Type { return plain.rawCodec }
    return switch t {
    case is [Float].Type: .of(Float.self)
    case is [Double].Type: .of(Double.self)
    case is [UInt8].Type: .of(UInt8.self)
    case is [UInt16].Type: .of(UInt16.self)
    case is [UInt32].Type: .of(UInt32.self)
    case is [UInt64].Type: .of(UInt64.self)
    case is [Int8].Type: .of(Int8.self)
    case is [Int16].Type: .of(Int16.self)
    case is [Int32].Type: .of(Int32.self)
    case is [Int64].Type: .of(Int64.self)
    case is [Int].Type: .of(Int.self)
    default: nil
    }
}

/// Optionals are a presence byte and the value, in every position (Swift's own
/// `Optional: Codable` would leave a present value unmarked in arrays).
private protocol AnyOptional {
    func encodeMarked(_ e: BinaryEncoderImpl) throws
    static func decodeMarked(_ d: BinaryDecoderImpl) throws -> Any
}

extension Optional: AnyOptional where Wrapped: Codable {
    fileprivate func encodeMarked(_ e: BinaryEncoderImpl) throws { try e.encodeOptional(self) }
    fileprivate static func decodeMarked(_ d: BinaryDecoderImpl) throws -> Any { try d.decodeOptional(Wrapped.self) as Any }
}

/// Dictionaries, asked whether Swift would encode them through a keyed
/// container: those with String, Int or other `CodingKeyRepresentable` keys.
private protocol KeyedDictionary {
    static var keyIsCodingKey: Bool { get }
}

extension Dictionary: KeyedDictionary {
    fileprivate static var keyIsCodingKey: Bool { Key.self is any CodingKeyRepresentable.Type }
}

private func appendInt(_ v: Int, to bytes: inout [UInt8]) {
    withUnsafeBytes(of: Int64(v).littleEndian) { bytes.append(contentsOf: $0) }
}

private func readInt(_ bytes: [UInt8], at offset: inout Int) throws -> Int {
    guard bytes.count - offset >= 8 else { throw BinaryCodingError("ends inside a count", at: offset) }
    var v: Int64 = 0
    withUnsafeMutableBytes(of: &v) { $0.copyBytes(from: bytes[offset..<(offset + 8)]) }
    offset += 8
    return Int(Int64(littleEndian: v))
}

// MARK: - Encoding

private final class BinaryEncoderImpl: Encoder {
    var bytes: [UInt8] = []
    /// Streaming (`encode(_:blockSize:to:)`): where the bytes go, and how many
    /// sequences are open (their counts are patched into `bytes`, so nothing
    /// is handed on while one is).
    var sink: ((UnsafeRawBufferPointer) throws -> Void)?
    var blockSize = 1 << 20
    var openSequences = 0

    func flush(force: Bool) throws {
        guard let sink, openSequences == 0, !bytes.isEmpty, force || bytes.count >= blockSize else { return }
        try bytes.withUnsafeBytes { try sink($0) }
        bytes.removeAll(keepingCapacity: true)
    }

    /// A raw array while streaming: its count, then its memory in blocks.
    func stream(_ raw: RawArrayCodec, _ value: Any) throws {
        try raw.memory(value) { count, memory in
            appendInt(count, to: &bytes)
            if memory.count < blockSize / 4 {
                bytes.append(contentsOf: memory)
                try flush(force: false)
                return
            }
            try flush(force: true)
            var at = 0
            while at < memory.count {
                let n = Swift.min(blockSize, memory.count - at)
                try sink!(UnsafeRawBufferPointer(rebasing: memory[at..<(at + n)]))
                at += n
            }
        }
    }
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }

    func encodeValue<T: Encodable>(_ value: T) throws {
        if let raw = rawArrayType(T.self) {
            if sink != nil && openSequences == 0 { try stream(raw, value) } else { raw.append(value, &bytes) }
            return
        }
        if let optional = value as? any AnyOptional {
            try optional.encodeMarked(self)
            return
        }
        // Swift encodes these through keyed containers, whose keys this form
        // leaves out: refuse them rather than write what cannot be read back.
        // Asked of the type, not the value: an empty [Symbol: X] also casts
        // to [String: Any], having no key to say otherwise.
        if let dictionary = T.self as? any KeyedDictionary.Type, dictionary.keyIsCodingKey {
            throw BinaryCodingError("\(T.self): dictionaries keyed by String or Int are not supported; use arrays of pairs", at: bytes.count)
        }
        switch value {
        case let v as Bool: bytes.append(v ? 1 : 0)
        case let v as String:
            var s = v
            s.withUTF8 { u in
                appendInt(u.count, to: &bytes)
                bytes.append(contentsOf: u)
            }
        case let v as Double: put(v.bitPattern)
        case let v as Float: put(v.bitPattern)
        case let v as Int: put(Int64(v))
        case let v as UInt: put(UInt64(v))
        case let v as Int8: put(v)
        case let v as Int16: put(v)
        case let v as Int32: put(v)
        case let v as Int64: put(v)
        case let v as UInt8: put(v)
        case let v as UInt16: put(v)
        case let v as UInt32: put(v)
        case let v as UInt64: put(v)
        default:
            // Sequences opened while `value` encodes itself are closed when it returns.
            let open = openSequences
            try value.encode(to: self)
            openSequences = open
            try flush(force: false)
        }
    }

    func encodeOptional<T: Encodable>(_ value: T?) throws {
        if let value {
            bytes.append(1)
            try encodeValue(value)
        } else {
            bytes.append(0)
        }
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(KeyedEncoder<Key>(encoder: self))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        // The count goes first; it is filled in as elements arrive.
        let at = bytes.count
        appendInt(0, to: &bytes)
        openSequences += 1
        return UnkeyedEncoder(encoder: self, countOffset: at)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { SingleEncoder(encoder: self) }
}

private struct KeyedEncoder<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let encoder: BinaryEncoderImpl
    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil(forKey key: Key) throws { encoder.bytes.append(0) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { try encoder.encodeValue(value) }
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws { try encoder.encodeOptional(value) }
    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws { try encoder.encodeOptional(value) }
    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws { try encoder.encodeOptional(value) }
    mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws { try encoder.encodeOptional(value) }
    mutating func encodeIfPresent(_ value: Float?, forKey key: Key) throws { try encoder.encodeOptional(value) }
    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws { try encoder.encodeOptional(value) }
    mutating func encodeIfPresent(_ value: Int8?, forKey key: Key) throws { try encoder.encodeOptional(value) }
    mutating func encodeIfPresent(_ value: Int16?, forKey key: Key) throws { try encoder.encodeOptional(value) }
    mutating func encodeIfPresent(_ value: Int32?, forKey key: Key) throws { try encoder.encodeOptional(value) }
    mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws { try encoder.encodeOptional(value) }
    mutating func encodeIfPresent(_ value: UInt?, forKey key: Key) throws { try encoder.encodeOptional(value) }
    mutating func encodeIfPresent(_ value: UInt8?, forKey key: Key) throws { try encoder.encodeOptional(value) }
    mutating func encodeIfPresent(_ value: UInt16?, forKey key: Key) throws { try encoder.encodeOptional(value) }
    mutating func encodeIfPresent(_ value: UInt32?, forKey key: Key) throws { try encoder.encodeOptional(value) }
    mutating func encodeIfPresent(_ value: UInt64?, forKey key: Key) throws { try encoder.encodeOptional(value) }

    mutating func nestedContainer<N: CodingKey>(keyedBy keyType: N.Type, forKey key: Key) -> KeyedEncodingContainer<N> {
        encoder.container(keyedBy: keyType)
    }
    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer { encoder.unkeyedContainer() }
    mutating func superEncoder() -> any Encoder { encoder }
    mutating func superEncoder(forKey key: Key) -> any Encoder { encoder }
}

private struct UnkeyedEncoder: UnkeyedEncodingContainer {
    let encoder: BinaryEncoderImpl
    let countOffset: Int
    var codingPath: [any CodingKey] { [] }
    private(set) var count = 0

    init(encoder: BinaryEncoderImpl, countOffset: Int) {
        self.encoder = encoder
        self.countOffset = countOffset
    }

    private mutating func counted() {
        count += 1
        withUnsafeBytes(of: Int64(count).littleEndian) { raw in
            for i in 0..<8 { encoder.bytes[countOffset + i] = raw[i] }
        }
    }

    mutating func encodeNil() throws {
        encoder.bytes.append(0)
        counted()
    }
    mutating func encode<T: Encodable>(_ value: T) throws {
        let before = encoder.bytes.count
        try encoder.encodeValue(value)
        // The decoder bounds a count by the bytes left, one per element at least.
        guard encoder.bytes.count > before else {
            throw BinaryCodingError("\(T.self) encodes to no bytes, which a sequence cannot hold", at: before)
        }
        counted()
    }
    mutating func nestedContainer<N: CodingKey>(keyedBy keyType: N.Type) -> KeyedEncodingContainer<N> {
        counted()
        return encoder.container(keyedBy: keyType)
    }
    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        counted()
        return encoder.unkeyedContainer()
    }
    mutating func superEncoder() -> any Encoder { encoder }
}

private struct SingleEncoder: SingleValueEncodingContainer {
    let encoder: BinaryEncoderImpl
    var codingPath: [any CodingKey] { [] }
    mutating func encodeNil() throws { encoder.bytes.append(0) }
    mutating func encode<T: Encodable>(_ value: T) throws { try encoder.encodeValue(value) }
}

// MARK: - Decoding

private final class BinaryDecoderImpl: Decoder {
    let bytes: [UInt8]
    var offset = 0
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func take<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let n = MemoryLayout<T>.size
        guard bytes.count - offset >= n else { throw BinaryCodingError("ends inside a \(T.self)", at: offset) }
        var v = T.zero
        withUnsafeMutableBytes(of: &v) { $0.copyBytes(from: bytes[offset..<(offset + n)]) }
        offset += n
        return T(littleEndian: v)
    }

    func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
        if let raw = rawArrayType(T.self) { return try raw.read(bytes, &offset) as! T }
        if let optional = T.self as? any AnyOptional.Type { return try optional.decodeMarked(self) as! T }
        switch type {
        case is Bool.Type: return (try take(UInt8.self) != 0) as! T
        case is String.Type:
            let at = offset
            let n = try readInt(bytes, at: &offset)
            guard byteCount(n, stride: 1, available: bytes.count - offset) != nil else {
                throw BinaryCodingError("a string of \(n) bytes does not fit in the \(bytes.count - offset) bytes left", at: at)
            }
            defer { offset += n }
            return String(decoding: bytes[offset..<(offset + n)], as: UTF8.self) as! T
        case is Double.Type: return Double(bitPattern: try take(UInt64.self)) as! T
        case is Float.Type: return Float(bitPattern: try take(UInt32.self)) as! T
        case is Int.Type: return Int(try take(Int64.self)) as! T
        case is UInt.Type: return UInt(try take(UInt64.self)) as! T
        case is Int8.Type: return try take(Int8.self) as! T
        case is Int16.Type: return try take(Int16.self) as! T
        case is Int32.Type: return try take(Int32.self) as! T
        case is Int64.Type: return try take(Int64.self) as! T
        case is UInt8.Type: return try take(UInt8.self) as! T
        case is UInt16.Type: return try take(UInt16.self) as! T
        case is UInt32.Type: return try take(UInt32.self) as! T
        case is UInt64.Type: return try take(UInt64.self) as! T
        default: return try T(from: self)
        }
    }

    func decodeOptional<T: Decodable>(_ type: T.Type) throws -> T? {
        try take(UInt8.self) == 0 ? nil : try decodeValue(type)
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(KeyedDecoder<Key>(decoder: self))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let at = offset
        let n = try readInt(bytes, at: &offset)
        // Every element takes at least a byte (the encoder makes sure of it),
        // so a count beyond the bytes left is corrupt: refused before any
        // decoder reserves room for it.
        guard byteCount(n, stride: 1, available: bytes.count - offset) != nil else {
            throw BinaryCodingError("a sequence of \(n) elements does not fit in the \(bytes.count - offset) bytes left", at: at)
        }
        return UnkeyedDecoder(decoder: self, count: n)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { SingleDecoder(decoder: self) }
}

private struct KeyedDecoder<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let decoder: BinaryDecoderImpl
    var codingPath: [any CodingKey] { [] }
    var allKeys: [Key] { [] }

    func contains(_ key: Key) -> Bool { true }
    func decodeNil(forKey key: Key) throws -> Bool { try decoder.take(UInt8.self) == 0 }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try decoder.decodeValue(type) }
    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? { try decoder.decodeOptional(type) }
    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? { try decoder.decodeOptional(type) }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? { try decoder.decodeOptional(type) }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? { try decoder.decodeOptional(type) }
    func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? { try decoder.decodeOptional(type) }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try decoder.decodeOptional(type) }
    func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? { try decoder.decodeOptional(type) }
    func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? { try decoder.decodeOptional(type) }
    func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? { try decoder.decodeOptional(type) }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { try decoder.decodeOptional(type) }
    func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? { try decoder.decodeOptional(type) }
    func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? { try decoder.decodeOptional(type) }
    func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? { try decoder.decodeOptional(type) }
    func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? { try decoder.decodeOptional(type) }
    func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? { try decoder.decodeOptional(type) }

    func nestedContainer<N: CodingKey>(keyedBy type: N.Type, forKey key: Key) throws -> KeyedDecodingContainer<N> {
        try decoder.container(keyedBy: type)
    }
    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer { try decoder.unkeyedContainer() }
    func superDecoder() throws -> any Decoder { decoder }
    func superDecoder(forKey key: Key) throws -> any Decoder { decoder }
}

private struct UnkeyedDecoder: UnkeyedDecodingContainer {
    let decoder: BinaryDecoderImpl
    let total: Int
    var currentIndex = 0
    var codingPath: [any CodingKey] { [] }
    var count: Int? { total }
    var isAtEnd: Bool { currentIndex >= total }

    init(decoder: BinaryDecoderImpl, count: Int) {
        self.decoder = decoder
        total = count
    }

    private mutating func next() throws {
        guard !isAtEnd else { throw BinaryCodingError("read past the end of a sequence of \(total)", at: decoder.offset) }
        currentIndex += 1
    }

    mutating func decodeNil() throws -> Bool {
        // Only a nil takes no value after it; peek without consuming a present value's flag.
        guard !isAtEnd, decoder.offset < decoder.bytes.count else { return false }
        if decoder.bytes[decoder.offset] == 0 {
            decoder.offset += 1
            currentIndex += 1
            return true
        }
        return false
    }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try next()
        return try decoder.decodeValue(type)
    }
    mutating func nestedContainer<N: CodingKey>(keyedBy type: N.Type) throws -> KeyedDecodingContainer<N> {
        try next()
        return try decoder.container(keyedBy: type)
    }
    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try next()
        return try decoder.unkeyedContainer()
    }
    mutating func superDecoder() throws -> any Decoder { decoder }
}

private struct SingleDecoder: SingleValueDecodingContainer {
    let decoder: BinaryDecoderImpl
    var codingPath: [any CodingKey] { [] }
    func decodeNil() -> Bool { false }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decoder.decodeValue(type) }
}
