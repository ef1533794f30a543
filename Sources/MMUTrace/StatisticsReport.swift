import MMUHardware
import MMUKernel

/// The statistics of docs/reference/statistics.md, as text or JSON.
public enum StatisticsReport {
    /// `name value` lines, names padded to one column: totals, then each core.
    public static func text(_ system: System) -> String {
        let names = system.statisticNames
        let width = names.map(\.count).max() ?? 0
        var out = ""
        for name in names {
            let value = system.statistic(name) ?? 0
            out += name + String(repeating: " ", count: width - name.count + 2) + String(value) + "\n"
        }
        return out
    }

    /// The JSON report's schema name; it changes only if a key changes meaning.
    public static let schema = "mmusim-report-1"

    /// One JSON object (docs/trace-format.md gives the schema): `schema`,
    /// `trace`, `configuration`, `totals`, `cores`, `cycles_by_category`,
    /// `histogram`, and `statistics` (every name of the text report, flat).
    public static func json(_ system: System, trace: String, format: String = "mmt",
                            histogram: AccessHistogram = AccessHistogram(), extra: [(String, UInt64)] = []) -> String {
        func object(_ pairs: [(String, String)], indent: String) -> String {
            guard !pairs.isEmpty else { return "{}" }
            return "{\n" + pairs.map { "\(indent)  \(jsonString($0.0)): \($0.1)" }.joined(separator: ",\n") + "\n\(indent)}"
        }
        let keys = system.hasVirtualMachines ? Configuration.keys : Configuration.keys.filter { !Configuration.isVirtualizationKey($0) }
        let configuration = keys.map { key -> (String, String) in
            let value = system.configuration.value(of: key) ?? ""
            return (key, UInt64(value) != nil ? value : jsonString(value))
        }
        let perCore = system.reportedStatistics.filter { $0.scope == .perCore }
        let reported: [Statistic] = perCore + Statistic.totalOnly
        let totals: [(String, String)] = reported.map { ($0.name, String($0.value(in: system) ?? 0)) }
            + extra.map { ($0.0, String($0.1)) }
        let cores: [String] = (0..<system.coreCount).map { c in
            let values: [(String, String)] = perCore.map { ($0.name, String($0.value(in: system, core: CoreID(c)) ?? 0)) }
            return object([("core", String(c))] + values, indent: "    ")
        }
        let categories = CycleCategory.allCases.filter { $0 != .vm || system.hasVirtualMachines }
            .map { ($0.description, String(system.statistic("cycles.\($0)") ?? 0)) }
        let buckets = histogram.buckets.map { "{\"low\": \($0.low), \"high\": \($0.high), \"accesses\": \($0.count)}" }
        let flat = system.statisticNames.map { ($0, String(system.statistic($0) ?? 0)) }
        return object([
            ("schema", jsonString(schema)),
            ("trace", jsonString(trace)),
            ("format", jsonString(format)),
            ("configuration", object(configuration, indent: "  ")),
            ("totals", object(totals, indent: "  ")),
            ("cores", "[\n    " + cores.joined(separator: ",\n    ") + "\n  ]"),
            ("cycles_by_category", object(categories, indent: "  ")),
            ("histogram", "[" + buckets.joined(separator: ", ") + "]"),
            ("buddy", object([
                ("free_blocks_by_order", "[" + system.frames.freeBlocksByOrder.map(String.init).joined(separator: ", ") + "]"),
                ("unusable_free_index_order9", decimal(system.frames.unusableFreeIndex(order: 9))),
            ], indent: "  ")),
            ("statistics", object(flat, indent: "  ")),
        ], indent: "") + "\n"
    }

    /// A number in [0, 1] with four decimals, the same on every host.
    static func decimal(_ value: Double) -> String {
        let tenThousandths = Int((min(max(value, 0), 1) * 10_000).rounded())
        let fraction = String(tenThousandths % 10_000)
        return "\(tenThousandths / 10_000)." + String(repeating: "0", count: 4 - fraction.count) + fraction
    }

    /// A JSON string literal.
    public static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

/// One line per event, with the core's clock: `mmusim run --events`.
public enum EventFormatter {
    public static func line(_ event: Event) -> String {
        let clock = String(event.clock)
        let stamp = "\(event.core) @\(String(repeating: " ", count: max(0, 10 - clock.count)))\(clock)  "
        return stamp + describe(event.kind)
    }

    public static func describe(_ kind: Event.Kind) -> String {
        switch kind {
        case .access(let kind, let va): return "access \(kind) \(va)"
        case .tlbHit(let level, let va): return "tlb.\(level.rawValue) hit \(va)"
        case .tlbMiss(let level, let va): return "tlb.\(level.rawValue) miss \(va)"
        case .tlbDropped(let level, let va): return "tlb.\(level.rawValue) entry dropped (does not permit the access) \(va)"
        case .pscHit(let level, let va): return "psc hit: walk starts at the \(level) level for \(va)"
        case .walkReference(let step):
            return "walk reads \(step.level)[\(step.index)] of table \(step.table.rawValue) = \(step.entry)"
        case .nestedWalkReference(let step):
            return "nested walk reads \(step.level)[\(step.index)] of table \(step.table.rawValue) = \(step.entry)"
        case .eptViolation(let v):
            return "EPT violation: \(v.kind) guest-physical \(hex(v.guestPhysical)) for \(v.guestLinear)"
                + (v.isFinalAddress ? "" : " (guest paging structure)") + " qualification \(hex(v.qualification))"
        case .walkDone(let va, let t, let ad):
            return "walk done \(va) -> frame \(t.frame.rawValue) (\(t.size))" + (ad > 0 ? ", set \(ad) A/D bit(s)" : "")
        case .pageFault(let code, let cr2): return "#PF error code \(code) CR2=\(cr2)"
        case .generalProtection(let va): return "#GP non-canonical address \(va)"
        case .invlpg(let va, let pcid): return "INVLPG \(va) (\(pcid))"
        case .flush(let pcid): return "TLB flush" + (pcid.map { " (\($0))" } ?? " (all non-global)")
        case .cr3Write(let pml4, let pcid): return "CR3 <- PML4 frame \(pml4.rawValue), \(pcid)"
        case .accessDone(let kind, let va, let pa, let value): return "access \(kind) \(va) done: PA \(pa) value \(hex(value))"
        case .software(let step):
            return "kernel: \(step.name)" + (step.address.rawValue != 0 ? " \(step.address)" : "") + " [\(step.detail)]"
        case .broadcastInvalidation(let va, let pcid): return "INVLPGB invalidation \(va) (\(pcid))"
        case .charge(let key, let cycles, let category): return "  +\(cycles) \(key) (\(category))"
        case .wait(let cycles): return "  +\(cycles) wait"
        case .begin(let span): return "begin \(span.name)"
        case .end(let span): return "end \(span.name)"
        }
    }
}

extension EventFormatter {
    /// One event as one JSON object on one line (no newline): `mmusim run
    /// --events=FILE.jsonl` (docs/trace-format.md, "Event stream (JSON Lines)").
    /// `record` is the trace record (or `.mmt` line) the event belongs to;
    /// `trace` the trace's index in a multi-trace run (left out for one trace).
    /// Addresses, frames' physical addresses, entries and values are hex
    /// strings (JSON numbers lose precision above 2^53); counts are numbers.
    public static func json(_ event: Event, record: UInt64, trace: Int? = nil) -> String {
        var out = "{\"record\": \(record), "
        if let trace { out += "\"trace\": \(trace), " }
        out += "\"core\": \(event.core.rawValue), \"clock\": \(event.clock), \"kind\": "
        for (index, field) in fields(event.kind).enumerated() {
            out += (index == 0 ? "" : ", \(StatisticsReport.jsonString(field.name)): ") + field.value
        }
        return out + "}"
    }

    /// The kind's name (a JSON string) first, then its fields as name and JSON value.
    static func fields(_ kind: Event.Kind) -> [(name: String, value: String)] {
        func string(_ text: String) -> String { StatisticsReport.jsonString(text) }
        func va(_ address: VirtualAddress) -> (String, String) { ("va", string(address.description)) }
        func named(_ name: String, _ rest: (String, String)...) -> [(name: String, value: String)] {
            [("kind", string(name))] + rest.map { (name: $0.0, value: $0.1) }
        }
        switch kind {
        case .access(let access, let address): return named("access", ("access", string(access.description)), va(address))
        case .tlbHit(let level, let address): return named("tlb_hit", ("tlb", string(level.rawValue)), va(address))
        case .tlbMiss(let level, let address): return named("tlb_miss", ("tlb", string(level.rawValue)), va(address))
        case .tlbDropped(let level, let address): return named("tlb_dropped", ("tlb", string(level.rawValue)), va(address))
        case .pscHit(let level, let address): return named("psc_hit", ("level", string(level.description)), va(address))
        case .walkReference(let step):
            return named("walk_reference", ("level", string(step.level.description)), ("table", String(step.table.rawValue)),
                         ("index", String(step.index)), ("entry", string(hex(step.entry.rawValue))))
        case .nestedWalkReference(let step):
            return named("nested_walk_reference", ("level", string(step.level.description)), ("table", String(step.table.rawValue)),
                         ("index", String(step.index)), ("entry", string(hex(step.entry.rawValue))))
        case .eptViolation(let v):
            return named("ept_violation", ("access", string(v.kind.description)), ("gpa", string(hex(v.guestPhysical))),
                         va(v.guestLinear), ("final", v.isFinalAddress ? "true" : "false"),
                         ("qualification", string(hex(v.qualification))))
        case .walkDone(let address, let translation, let bits):
            return named("walk_done", va(address), ("frame", String(translation.frame.rawValue)),
                         ("size", string(translation.size.description)), ("accessed_dirty_bits_set", String(bits)))
        case .pageFault(let code, let cr2):
            return named("page_fault", ("error_code", string(hex(UInt64(code.rawValue)))), ("decoded", string(code.description)),
                         ("cr2", string(cr2.description)))
        case .generalProtection(let address): return named("general_protection", va(address))
        case .invlpg(let address, let pcid): return named("invlpg", va(address), ("pcid", String(pcid.rawValue)))
        case .broadcastInvalidation(let address, let pcid):
            return named("broadcast_invalidation", va(address), ("pcid", String(pcid.rawValue)))
        case .flush(let pcid): return named("flush", ("pcid", pcid.map { String($0.rawValue) } ?? "null"))
        case .cr3Write(let pml4, let pcid): return named("cr3_write", ("pml4", String(pml4.rawValue)), ("pcid", String(pcid.rawValue)))
        case .accessDone(let access, let address, let physical, let value):
            return named("access_done", ("access", string(access.description)), va(address),
                         ("pa", string(physical.description)), ("value", string(hex(value))))
        case .software(let step):
            return named("software", ("name", string(step.name)), va(step.address), ("detail", String(step.detail)))
        case .charge(let key, let cycles, let category):
            return named("charge", ("key", string(key.name)), ("cycles", String(cycles)), ("category", string(category.description)))
        case .wait(let cycles): return named("wait", ("cycles", String(cycles)))
        case .begin(let span): return named("begin", ("span", string(span.name)), ("category", string(span.category)))
        case .end(let span): return named("end", ("span", string(span.name)), ("category", string(span.category)))
        }
    }
}
