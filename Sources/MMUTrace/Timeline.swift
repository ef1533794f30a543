import MMUHardware

/// Builds a Chrome trace-event timeline (opens in Perfetto and
/// chrome://tracing) from the events of a run: one track per core; complete
/// ("X") events for accesses, walks, page faults and their handler steps,
/// syscalls, shootdowns, IPI handlers and every charge; waits as their own
/// spans; #PF and TLB misses as instant events. Timestamps are core cycles
/// (shown as microseconds: 1 µs on the timeline = 1 cycle).
public struct Timeline {
    struct Open {
        var span: Event.Span
        var start: CycleCount
        var arguments: String
    }

    /// Open spans per core, innermost last.
    var open: [[Open]]
    /// Finished trace events of the current batch, with their sort keys.
    /// `rank` puts an enclosing span before a charge of the same extent, and
    /// instants last; `sequence` keeps the order deterministic.
    var pending: [(tid: Int, ts: CycleCount, dur: CycleCount, rank: Int, sequence: Int, json: String)] = []
    var namedCores: Set<Int> = []
    var lastFault: [String]
    public private(set) var written = 0

    public init(cores: Int) {
        open = [[Open]](repeating: [], count: cores)
        lastFault = [String](repeating: "", count: cores)
    }

    /// The file's opening.
    public static let header = "{\"displayTimeUnit\": \"ns\", \"otherData\": {\"clock\": \"1 us on the timeline = 1 core cycle\"},\n\"traceEvents\": [\n"
    /// The file's closing.
    public static let footer = "\n]}\n"

    /// Adds a batch of events (one directive's, in order per core) and returns
    /// the trace-event lines they close, sorted per core by start time, parents first.
    public mutating func add(_ events: [Event]) -> String {
        for event in events { add(event) }
        pending.sort { a, b in
            if a.tid != b.tid { return a.tid < b.tid }
            if a.ts != b.ts { return a.ts < b.ts }
            if a.dur != b.dur { return a.dur > b.dur }
            return a.rank != b.rank ? a.rank < b.rank : a.sequence < b.sequence
        }
        var out = ""
        for item in pending {
            out += (written == 0 ? "" : ",\n") + item.json
            written += 1
        }
        pending.removeAll(keepingCapacity: true)
        return out
    }

    mutating func add(_ event: Event) {
        let tid = event.core.rawValue
        if !namedCores.contains(tid) {
            namedCores.insert(tid)
            pending.append((tid, 0, UInt64.max, 0, pending.count, "{\"name\": \"thread_name\", \"ph\": \"M\", \"pid\": 1, \"tid\": \(tid), \"args\": {\"name\": \"\(event.core)\"}}"))
        }
        switch event.kind {
        case .begin(let span):
            var arguments = ""
            if span == .pageFault, !lastFault[tid].isEmpty { arguments = lastFault[tid] }
            open[tid].append(Open(span: span, start: event.clock, arguments: arguments))
        case .end:
            guard let top = open[tid].popLast() else { return }
            complete(tid, top.span.name, top.span.category, top.start, event.clock - top.start, top.arguments, rank: 1)
        case .access(let kind, let address):
            if let last = open[tid].indices.last, open[tid][last].span == .access {
                open[tid][last].arguments = "\"kind\": \"\(kind)\", \"va\": \"\(address)\""
            }
        case .charge(let key, let cycles, let category):
            if cycles > 0 { complete(tid, key.name, category.description, event.clock, cycles, "") }
        case .wait(let cycles):
            complete(tid, "wait", "wait", event.clock, cycles, "")
        case .pageFault(let code, let cr2):
            lastFault[tid] = "\"error_code\": \"\(hex(UInt64(code.rawValue)))\", \"decoded\": \"\(code)\", \"cr2\": \"\(cr2)\""
            instant(tid, "#PF", event.clock, lastFault[tid])
        case .generalProtection(let address):
            lastFault[tid] = "\"gp\": \"\(address)\""
        case .tlbMiss(let level, let address):
            instant(tid, "\(level.rawValue) miss", event.clock, "\"va\": \"\(address)\"")
        case .software(let step):
            instant(tid, step.name, event.clock, "\"va\": \"\(step.address)\", \"detail\": \(step.detail)")
        case .broadcastInvalidation(let address, let pcid):
            instant(tid, "INVLPGB invalidation", event.clock, "\"va\": \"\(address)\", \"detail\": \(pcid.rawValue)")
        default:
            break
        }
    }

    mutating func complete(_ tid: Int, _ name: String, _ category: String, _ start: CycleCount, _ duration: CycleCount,
                           _ arguments: String, rank: Int = 2) {
        pending.append((tid, start, duration, rank, pending.count,
            "{\"name\": \"\(name)\", \"cat\": \"\(category)\", \"ph\": \"X\", \"ts\": \(start), \"dur\": \(duration), \"pid\": 1, \"tid\": \(tid), \"args\": {\(arguments)}}"))
    }

    mutating func instant(_ tid: Int, _ name: String, _ at: CycleCount, _ arguments: String) {
        pending.append((tid, at, 0, 3, pending.count,
            "{\"name\": \"\(name)\", \"cat\": \"event\", \"ph\": \"i\", \"s\": \"t\", \"ts\": \(at), \"pid\": 1, \"tid\": \(tid), \"args\": {\(arguments)}}"))
    }
}
