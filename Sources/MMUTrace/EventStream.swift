import MMUHardware

/// `mmusim run --events=FILE.jsonl`: the run's events as JSON Lines (one
/// object per event, `EventFormatter.json`), written batch by batch as the run
/// drains them (a record's, or a directive's), so memory does not grow with
/// the trace. The file is written under a temporary name (`AtomicFile`) and
/// appears under its own name only when `commit` renames it into place: a
/// reader never sees a half-written file. A run stopped early (SIGINT, a bad
/// record) still commits: the file then holds every event up to where the run
/// stopped, each line whole, as the statistics printed are the run so far. A
/// failed write removes the temporary file and commits nothing.
public struct EventStream {
    var file: AtomicFile
    /// Events written so far.
    public private(set) var written: UInt64 = 0

    /// Opens `path`'s temporary file; the error names `path` and the system's reason.
    public static func create(_ path: String) -> Result<EventStream, TraceError> {
        AtomicFile.create(path).map { EventStream(file: $0) }
    }

    public var path: String { file.path }

    /// Writes one batch of events, those of `record` (of trace `trace` in a
    /// multi-trace run), one line each.
    public mutating func write(_ events: [Event], record: UInt64, trace: Int? = nil) {
        guard !events.isEmpty else { return }
        var text = ""
        for event in events { text += EventFormatter.json(event, record: record, trace: trace) + "\n" }
        file.write(text)
        written &+= UInt64(events.count)
    }

    /// Closes the file and renames it into place; false (nothing left behind) when writing failed.
    public mutating func commit() -> Bool { file.commit() }

    /// Drops the temporary file.
    public mutating func abandon() { file.abandon() }
}
