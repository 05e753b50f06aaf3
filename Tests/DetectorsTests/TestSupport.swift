import ChunkModel
import Detectors
#if canImport(Glibc)
import Glibc
#endif

/// A small seeded generator so every test stream is the same on every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func normal() -> Double {
        let u1 = Double.random(in: Double.ulpOfOne..<1, using: &self)
        let u2 = Double.random(in: 0..<1, using: &self)
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }
    mutating func exponential(mean: Double) -> Double {
        -mean * log(Double.random(in: Double.ulpOfOne..<1, using: &self))
    }
}

/// Feeds events to one detector and keeps what it reports.
final class DetectorHarness {
    let detector: any Detector
    let context = DetectorContext(symbols: SymbolTable())
    var anomalies: [Anomaly] = []
    var scores: [Double] = []

    init(_ detector: any Detector) { self.detector = detector }

    func name(_ s: String) -> Symbol {
        let symbol = Symbol(s)
        context.symbols.register(symbol, name: s)
        return symbol
    }

    @discardableResult
    func feed(_ event: ChunkEvent) -> Double {
        let s = detector.observe(event, context: context, anomalies: &anomalies)
        scores.append(s)
        return s
    }
}

let t0 = Timestamp(rfc3339: "2026-11-23T00:00:00Z")!

func seconds(_ s: Double) -> Duration { .nanoseconds(Int64(s * 1e9)) }
