import Config
import FuzzSupport

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

    let path = scratch.write(input, to: "chunkwatch.yaml")
    let fromFile = ChunkWatchConfig.check(file: path)
    let validUTF8 = String(validating: input, as: UTF8.self) != nil
    if !validUTF8 {
        require(fromFile.1.count == 1 && fromFile.1[0].line == nil, "a file that is not UTF-8: \(fromFile.1)")
        return 0
    }
    let (config, problems) = ChunkWatchConfig.check(yaml: text, file: path)
    require(
        problems == fromFile.1 && config == fromFile.0,
        "the file and its text load differently:\nfile: \(fromFile.1)\ntext: \(problems)\nfile: \(fromFile.0)\ntext: \(config)")

    // Lines as YAML counts them (\n, \r\n, a lone \r, NEL, LS, PS), plus one
    // for a last line without an end.
    var lines = 1
    for (c, next) in zip(text.unicodeScalars, text.unicodeScalars.dropFirst().map(Optional.some) + [nil]) {
        switch c {
        case "\n", "\u{85}", "\u{2028}", "\u{2029}": lines += 1
        case "\r" where next != "\n": lines += 1
        default: break
        }
    }
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
