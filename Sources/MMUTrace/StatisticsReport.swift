import MMUHardware
import MMUKernel

/// The statistics of SPEC section 7, as text or JSON.
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

    /// One JSON object: `{"trace": ..., "configuration": {...}, "statistics": {...}}`,
    /// keys in the order of the text report (docs/trace-format.md gives the schema).
    public static func json(_ system: System, trace: String) -> String {
        var out = "{\n  \"trace\": \(jsonString(trace)),\n  \"configuration\": {\n"
        let keys = Configuration.keys
        for (i, key) in keys.enumerated() {
            let value = system.configuration.value(of: key) ?? ""
            let rendered = UInt64(value) != nil ? value : jsonString(value)
            out += "    \(jsonString(key)): \(rendered)" + (i + 1 < keys.count ? ",\n" : "\n")
        }
        out += "  },\n  \"statistics\": {\n"
        let names = system.statisticNames
        for (i, name) in names.enumerated() {
            out += "    \(jsonString(name)): \(system.statistic(name) ?? 0)" + (i + 1 < names.count ? ",\n" : "\n")
        }
        out += "  }\n}\n"
        return out
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
        case .walkDone(let va, let t, let ad):
            return "walk done \(va) -> frame \(t.frame.rawValue) (\(t.size))" + (ad > 0 ? ", set \(ad) A/D bit(s)" : "")
        case .pageFault(let code, let cr2): return "#PF error code \(code) CR2=\(cr2)"
        case .generalProtection(let va): return "#GP non-canonical address \(va)"
        case .invlpg(let va, let pcid): return "INVLPG \(va) (\(pcid))"
        case .flush(let pcid): return "TLB flush" + (pcid.map { " (\($0))" } ?? " (all non-global)")
        case .cr3Write(let pml4, let pcid): return "CR3 <- PML4 frame \(pml4.rawValue), \(pcid)"
        case .accessDone(let kind, let va, let pa, let value): return "access \(kind) \(va) done: PA \(pa) value \(hex(value))"
        case .kernel(let step, let va, let detail):
            return "kernel: \(step)" + (va.rawValue != 0 ? " \(va)" : "") + " [\(detail)]"
        }
    }
}
