import ChunkModel
import Testing

@Suite struct OutputBufferTests {
    @Test(arguments: [
        (0.0, "0"), (8.0, "8"), (0.9993, "0.9993"), (0.99934, "0.9993"), (1900.5, "1900.5"), (-2.25, "-2.25"),
        (1e20, "1e+20"), (.nan, "null"), (.infinity, "null"), (0.00004, "0"),
    ])
    func numbers(value: Double, text: String) {
        var out = OutputBuffer()
        out.append(number: value)
        #expect(out.string == text)
    }

    @Test func integersIncludingTheExtremes() {
        var out = OutputBuffer()
        for v: Int64 in [0, 7, -7, 1_048_576, .max, .min] {
            out.removeAll()
            out.append(integer: v)
            #expect(out.string == String(v))
        }
    }

    @Test func jsonStringsAreEscaped() {
        var out = OutputBuffer()
        out.append(jsonString: "a\"b\\c\nd\te\u{01}é")
        #expect(out.string == #""a\"b\\c\nd\te\u0001é""#)
    }
}

@Suite struct SymbolTests {
    @Test func hashesAreStableAcrossRunsAndLengths() {
        // Alert ids are built on these: the same bytes must give the same value in every run.
        #expect(Symbol("svc-billing") == Symbol("svc-billing"))
        #expect(StableHash.hash("svc-billing") == StableHash.hash("svc-billing"))
        var seen = Set<UInt64>()
        // Every length 0…40 and one-byte differences in every position hash apart.
        for n in 0...40 {
            let s = String(repeating: "x", count: n)
            #expect(seen.insert(StableHash.hash(s)).inserted, "length \(n) collides")
            if n > 0 {
                for i in 0..<n {
                    var bytes = Array(s.utf8)
                    bytes[i] = UInt8(ascii: "y")
                    #expect(seen.insert(StableHash.hash(String(decoding: bytes, as: UTF8.self))).inserted)
                }
            }
        }
        #expect(Symbol.none.isNone && !Symbol("").isNone)
    }

    @Test func theSymbolTableForgetsOldGenerationsAndKeepsTheRecentOnes() {
        let table = SymbolTable(capacity: 4)
        for i in 0..<10 { table.register(Symbol("p\(i)"), name: "p\(i)") }
        #expect(table.name(Symbol("p9")) == "p9")
        #expect(table.name(Symbol("p0")) == nil)
        #expect(table.display(Symbol("p0")).hasPrefix("#"))
        #expect(table.generation >= 2)
    }
}

@Suite struct TimestampTests {
    @Test func calendarFieldsInUTC() {
        let t = Timestamp(rfc3339: "2026-11-25T08:00:03.120Z")!  // a Wednesday
        #expect(t.dayOfWeek == 2)
        #expect(t.secondOfDay == 8 * 3600 + 3)
        #expect(t.rfc3339 == "2026-11-25T08:00:03.120Z")
        let before1970 = Timestamp(rfc3339: "1969-12-31T23:59:59.500Z")!
        #expect(before1970.epochMilliseconds == -500)
        #expect(before1970.secondOfDay == 86_399)
        #expect(before1970.dayOfWeek == 2)  // a Wednesday
    }
}
