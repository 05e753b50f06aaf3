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
