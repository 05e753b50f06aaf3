import ChunkModel
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One input named on a command line, after directories are expanded.
public struct InputFile: Sendable, Equatable {
    /// A path, or `-` for stdin.
    public var path: String
    /// Its size in bytes when known (not for stdin or pipes), for progress.
    public var size: Int?

    public init(path: String, size: Int? = nil) {
        self.path = path
        self.size = size
    }

    /// Expands the command-line arguments: a directory stands for its regular
    /// files in name order (hidden files skipped), `-` for stdin.
    public static func expand(_ arguments: [String]) throws(IngestError) -> [InputFile] {
        var files: [InputFile] = []
        for argument in arguments {
            if argument == "-" {
                files.append(InputFile(path: "-"))
                continue
            }
            var st = stat()
            guard stat(argument, &st) == 0 else { throw IngestError(.notFound, path: argument, detail: "") }
            if (st.st_mode & S_IFMT) == S_IFDIR {
                guard let dir = opendir(argument) else {
                    throw IngestError(.cannotOpen, path: argument, detail: String(cString: strerror(errno)))
                }
                var names: [String] = []
                while let entry = readdir(dir) {
                    let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                        String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                    }
                    if name.hasPrefix(".") { continue }
                    names.append(name)
                }
                closedir(dir)
                for name in names.sorted() {
                    let path = argument.hasSuffix("/") ? argument + name : argument + "/" + name
                    var fst = stat()
                    if stat(path, &fst) == 0 && (fst.st_mode & S_IFMT) == S_IFREG {
                        files.append(InputFile(path: path, size: Int(fst.st_size)))
                    }
                }
            } else {
                let regular = (st.st_mode & S_IFMT) == S_IFREG
                files.append(InputFile(path: argument, size: regular ? Int(st.st_size) : nil))
            }
        }
        return files
    }
}

extension InputFile {
    /// The time of the file's first event, reading only as far as it (nil
    /// when it holds none that decodes, or cannot be read).
    public static func firstEventTime(_ file: InputFile) -> Timestamp? {
        struct Found: Error {}
        let reader = EventReader(symbols: SymbolTable(capacity: 16), readBufferSize: 1 << 16)
        var first: Timestamp?
        do {
            try reader.read(file) { event in
                first = event.ts
                throw Found()
            }
        } catch {}
        return first
    }

    /// `argument` expanded as `expand` does, a directory's files then put in
    /// the order of their first events: archives are read in event time even
    /// when their names do not sort that way (renamed, or from hosts whose
    /// names sort otherwise), so the detectors never see time go back at a
    /// file boundary. A file without a readable event keeps its place after
    /// the one before it in name order. `reordered` says the order changed.
    public static func expandInTimeOrder(_ argument: String) throws(IngestError) -> (files: [InputFile], reordered: Bool) {
        let files = try expand([argument])
        var st = stat()
        guard files.count > 1, stat(argument, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else { return (files, false) }
        var keys: [Timestamp] = []
        var last = Timestamp(nanoseconds: .min)
        for f in files {
            if let t = firstEventTime(f) { last = t }
            keys.append(last)
        }
        let order = files.indices.sorted { (keys[$0], $0) < (keys[$1], $1) }
        return (order.map { files[$0] }, order != Array(files.indices))
    }
}
