import Config
import FuzzSupport
import Yams

/// The configuration loader: any bytes as a config file (`check(file:)`, as
/// `config check` and `serve --config` read it) and as YAML text.
///
/// Checks, besides "no crash": every problem has a message and, when it
/// names a line, one inside the file; the file and the text give the same
/// result (or the file is refused as not UTF-8); and a config that loads
/// without problems, written out as `config default` writes it, loads again
/// without problems and writes out the same.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    let text = String(decoding: input, as: UTF8.self)
    if knownDurationTrap(text) { return 0 }

    let path = scratch.write(input, to: "chunkwatch.yaml")
    let fromFile = ChunkWatchConfig.check(file: path)
    let validUTF8 = String(validating: input, as: UTF8.self) != nil
    if !validUTF8 {
        require(fromFile.1.count == 1 && fromFile.1[0].line == nil, "a file that is not UTF-8: \(fromFile.1)")
        return 0
    }
    let (config, problems) = ChunkWatchConfig.check(yaml: text, file: path)
    require(problems == fromFile.1 && config == fromFile.0, "the file and its text load differently")

    // Lines as an editor counts them: a final line end starts no new line.
    let lines = 1 + zip(text.utf8, text.utf8.dropFirst()).reduce(0) { $0 + ($1.0 == 0x0A ? 1 : 0) }
    for p in problems {
        require(!p.message.isEmpty, "a problem without a message")
        if let line = p.line { require(line >= 1 && line <= lines, "a problem at line \(line) of \(lines): \(p)") }
    }
    guard problems.isEmpty else { return 0 }
    let written = config.yaml()
    let (again, againProblems) = ChunkWatchConfig.check(yaml: written, file: "written")
    require(againProblems.isEmpty, "the config written out does not load: \(againProblems)\n\(written)")
    require(again.yaml() == written, "the config written out loads as another:\n\(written)\n---\n\(again.yaml())")
    return 0
}

let scratch = ScratchDirectory("fuzz-config")

/// TEMPORARY guard (docs/fuzzing.md, Fuzz/Pending/config): a duration whose
/// nanoseconds overflow Int64 traps in `Parameter.duration`; that fix is
/// another part of issue 9. Skips inputs with such a scalar anywhere, so the
/// target keeps finding other things until the fix lands.
func knownDurationTrap(_ text: String) -> Bool {
    guard let root = try? Yams.compose(yaml: text) else { return false }
    var stack = [root]
    while let node = stack.popLast() {
        switch node {
        case .scalar(let s):
            if overflowsNanoseconds(s.string) { return true }
        case .mapping(let m):
            for (k, v) in m {
                stack.append(k)
                stack.append(v)
            }
        case .sequence(let s):
            stack.append(contentsOf: s)
        case .alias:
            break
        }
    }
    return false
}

private func overflowsNanoseconds(_ text: String) -> Bool {
    let units: [(String, Double)] = [("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400), ("", 1)]
    for (suffix, scale) in units where text.hasSuffix(suffix) {
        guard let v = Double(text.dropLast(suffix.count)), v.isFinite, v >= 0 else { continue }
        if (v * scale * 1e9).rounded() >= 9.2e18 { return true }
    }
    return false
}
