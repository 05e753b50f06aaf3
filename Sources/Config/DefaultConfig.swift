extension ChunkWatchConfig {
    /// The configuration as YAML with a comment on every key: what
    /// `chunkwatch config default` prints, and a file `config check` accepts.
    public func yaml() -> String {
        var out = "# chunkwatch configuration. Every key is optional: what a file leaves out keeps\n"
        out += "# the value shown here. Durations: 500ms, 90s, 15m, 2h, 1d, up to 18250d (50 years).\n\n"
        func write(_ section: ConfigSection, indent: String) {
            out += "\(indent)# \(section.help)\n"
            out += "\(indent)\(section.name):\n"
            let inner = indent + "  "
            if indent.isEmpty == false {
                out += "\(inner)# false turns this detector off.\n"
                out += "\(inner)enabled: \(disabled.contains(section.name) ? "false" : "true")\n"
            }
            for p in section.parameters {
                out += "\(inner)# \(p.help)\n"
                out += "\(inner)\(p.key): \(Parameter.text(p.get(self)))\n"
            }
        }
        write(Self.pipelineSection, indent: "")
        out += "\ndetectors:\n"
        for (i, section) in Self.detectorSections.enumerated() {
            if i > 0 { out += "\n" }
            write(section, indent: "  ")
        }
        out += "\n" + alerts.yaml()
        out += "\n" + proxy.yaml()
        return out
    }
}
