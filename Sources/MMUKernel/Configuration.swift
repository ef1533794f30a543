import MMUHardware

/// How `fork` treats the parent's private pages (SPEC section 2).
public enum ForkMode: String, Sendable, CaseIterable {
    /// Share every page copy-on-write (Linux).
    case cow
    /// Copy every present private page at once (the eager baseline).
    case copy
}

/// How the kernel makes other cores stop using a translation (SPEC section 3).
public enum ShootdownStrategy: String, Sendable, CaseIterable {
    /// IPIs to each target, Linux's x86 `flush_tlb_mm_range`.
    case ipi
    /// Hardware broadcast invalidation: AMD INVLPGB + TLBSYNC, Arm TLBI IS.
    case broadcast
    /// LATR-like lazy invalidation at the target's next switch or tick (unmap only).
    case deferred
}

/// A configuration value that cannot be used, with what was expected.
public struct ConfigurationError: Error, Hashable, Sendable {
    public enum Part: Sendable { case key, value }
    public var message: String
    /// Whether the key or the value is at fault (for the column of a message).
    public var part: Part
    public init(_ message: String, part: Part) {
        self.message = message
        self.part = part
    }
}

/// Every setting of a run: machine size, TLB geometry, kernel policy and costs
/// (SPEC section 5).
public struct Configuration: Hashable, Sendable {
    public var cores = 1
    public var frames = 262_144
    public var pcid = true
    public var zeroPage = true
    public var fork = ForkMode.cow
    public var shootdown = ShootdownStrategy.ipi
    /// Pages above which an invalidation becomes one full flush (Linux's
    /// `tlb_single_page_flush_ceiling`).
    public var flushCeiling: UInt64 = 33
    public var geometry = TLBGeometry()
    public var costs = CostModel()

    public init() {}

    /// Limits enforced on every setting, so a bad value gets a message instead of
    /// exhausting host memory.
    public enum Limits {
        public static let cores = 1...1024
        /// 64 Ki to 64 Mi frames: 256 MiB to 256 GiB of emulated memory.
        public static let frames = 16...(1 << 26)
        public static let tlbEntries = 0...65_536
        public static let pscEntries = 0...4096
        /// Page-table lines per cache level (4 MiB of lines at most per level).
        public static let pageTableLines = 0...65_536
        public static let flushCeiling: ClosedRange<UInt64> = 0...(1 << 20)
        public static let cost: ClosedRange<UInt64> = 0...1_000_000_000
    }

    /// Every key `set` accepts, in the order SPEC section 5 lists them.
    public static var keys: [String] {
        ["cores", "frames", "pcid", "zero_page", "fork", "shootdown", "flush_ceiling",
         "tlb.l1d.entries", "tlb.l1d.ways", "tlb.l1i.entries", "tlb.l1i.ways",
         "tlb.l2.entries", "tlb.l2.ways", "psc.pml4e", "psc.pdpte", "psc.pde",
         "ptcache.l1d.lines", "ptcache.l2.lines", "ptcache.llc.lines"]
            + CostKey.allCases.map(\.name)
    }

    /// Applies `key = value`, the value as a trace or command line writes it.
    public mutating func set(_ key: String, _ value: String) throws(ConfigurationError) {
        switch key {
        case "cores": cores = try Self.integer(value, in: Limits.cores, key)
        case "frames": frames = try Self.integer(value, in: Limits.frames, key)
        case "pcid": pcid = try Self.flag(value, key)
        case "zero_page": zeroPage = try Self.flag(value, key)
        case "fork": fork = try Self.choice(value, key)
        case "shootdown": shootdown = try Self.choice(value, key)
        case "flush_ceiling": flushCeiling = UInt64(try Self.integer(value, in: 0...Int(Limits.flushCeiling.upperBound), key))
        case "tlb.l1d.entries": geometry.l1dEntries = try Self.integer(value, in: 1...Limits.tlbEntries.upperBound, key)
        case "tlb.l1d.ways": geometry.l1dWays = try Self.integer(value, in: 1...Limits.tlbEntries.upperBound, key)
        case "tlb.l1i.entries": geometry.l1iEntries = try Self.integer(value, in: 1...Limits.tlbEntries.upperBound, key)
        case "tlb.l1i.ways": geometry.l1iWays = try Self.integer(value, in: 1...Limits.tlbEntries.upperBound, key)
        case "tlb.l2.entries": geometry.l2Entries = try Self.integer(value, in: Limits.tlbEntries, key)
        case "tlb.l2.ways": geometry.l2Ways = try Self.integer(value, in: 1...Limits.tlbEntries.upperBound, key)
        case "psc.pml4e": geometry.pml4eCacheEntries = try Self.integer(value, in: Limits.pscEntries, key)
        case "psc.pdpte": geometry.pdpteCacheEntries = try Self.integer(value, in: Limits.pscEntries, key)
        case "psc.pde": geometry.pdeCacheEntries = try Self.integer(value, in: Limits.pscEntries, key)
        case "ptcache.l1d.lines": geometry.pageTableLinesL1D = try Self.integer(value, in: Limits.pageTableLines, key)
        case "ptcache.l2.lines": geometry.pageTableLinesL2 = try Self.integer(value, in: Limits.pageTableLines, key)
        case "ptcache.llc.lines": geometry.pageTableLinesLLC = try Self.integer(value, in: Limits.pageTableLines, key)
        default:
            guard let cost = CostKey(name: key) else {
                throw ConfigurationError("unknown configuration key '\(key)'", part: .key)
            }
            costs[cost] = UInt64(try Self.integer(value, in: 0...Int(Limits.cost.upperBound), key))
        }
    }

    /// Checks the settings that depend on each other (TLB ways must divide entries).
    public func validate() throws(ConfigurationError) {
        let tlbs = [("tlb.l1d", geometry.l1dEntries, geometry.l1dWays),
                    ("tlb.l1i", geometry.l1iEntries, geometry.l1iWays),
                    ("tlb.l2", geometry.l2Entries, geometry.l2Ways)]
        for (name, entries, ways) in tlbs where entries > 0 && (ways > entries || entries % ways != 0) {
            throw ConfigurationError("\(name).ways (\(ways)) must divide \(name).entries (\(entries))", part: .value)
        }
    }

    /// The value of `key` as `set` would take it (for reports and `mmusim config`).
    public func value(of key: String) -> String? {
        switch key {
        case "cores": return String(cores)
        case "frames": return String(frames)
        case "pcid": return pcid ? "on" : "off"
        case "zero_page": return zeroPage ? "on" : "off"
        case "fork": return fork.rawValue
        case "shootdown": return shootdown.rawValue
        case "flush_ceiling": return String(flushCeiling)
        case "tlb.l1d.entries": return String(geometry.l1dEntries)
        case "tlb.l1d.ways": return String(geometry.l1dWays)
        case "tlb.l1i.entries": return String(geometry.l1iEntries)
        case "tlb.l1i.ways": return String(geometry.l1iWays)
        case "tlb.l2.entries": return String(geometry.l2Entries)
        case "tlb.l2.ways": return String(geometry.l2Ways)
        case "psc.pml4e": return String(geometry.pml4eCacheEntries)
        case "psc.pdpte": return String(geometry.pdpteCacheEntries)
        case "psc.pde": return String(geometry.pdeCacheEntries)
        case "ptcache.l1d.lines": return String(geometry.pageTableLinesL1D)
        case "ptcache.l2.lines": return String(geometry.pageTableLinesL2)
        case "ptcache.llc.lines": return String(geometry.pageTableLinesLLC)
        case "cost.walk.ref" where !costs.flatWalkReference: return "model"
        default: return CostKey(name: key).map { String(costs[$0]) }
        }
    }

    /// Parses a decimal or `0x` hexadecimal unsigned number.
    public static func parseNumber(_ text: Substring) -> UInt64? {
        if text.hasPrefix("0x") || text.hasPrefix("0X") {
            let digits = text.dropFirst(2)
            guard !digits.isEmpty else { return nil }
            return UInt64(digits, radix: 16)
        }
        guard !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return UInt64(text, radix: 10)
    }

    static func integer(_ text: String, in range: ClosedRange<Int>, _ key: String) throws(ConfigurationError) -> Int {
        guard let number = parseNumber(Substring(text)) else {
            throw ConfigurationError("'\(text)' is not a number (\(key) takes \(range.lowerBound) to \(range.upperBound))", part: .value)
        }
        guard number >= UInt64(range.lowerBound), number <= UInt64(range.upperBound) else {
            throw ConfigurationError("\(key) \(number) is out of range (\(range.lowerBound) to \(range.upperBound))", part: .value)
        }
        return Int(number)
    }

    static func flag(_ text: String, _ key: String) throws(ConfigurationError) -> Bool {
        switch text {
        case "on": return true
        case "off": return false
        default: throw ConfigurationError("\(key) takes on or off, not '\(text)'", part: .value)
        }
    }

    static func choice<T: RawRepresentable & CaseIterable>(_ text: String, _ key: String) throws(ConfigurationError) -> T where T.RawValue == String {
        guard let value = T(rawValue: text) else {
            let names = T.allCases.map(\.rawValue).joined(separator: ", ")
            throw ConfigurationError("\(key) takes one of \(names), not '\(text)'", part: .value)
        }
        return value
    }
}
