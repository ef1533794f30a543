import MMUHardware

/// How `fork` treats the parent's private pages.
public enum ForkMode: String, Sendable, CaseIterable {
    /// Share every page copy-on-write (Linux).
    case cow
    /// Copy every present private page at once (the eager baseline).
    case copy
}

/// How the kernel makes other cores stop using a translation.
public enum ShootdownStrategy: String, Sendable, CaseIterable {
    /// IPIs to each target, Linux's x86 `flush_tlb_mm_range`.
    case ipi
    /// Hardware broadcast invalidation: AMD INVLPGB + TLBSYNC, Arm TLBI IS.
    case broadcast
    /// LATR-like lazy invalidation at the target's next switch or tick (unmap only).
    case deferred
}

/// When anonymous memory gets transparent huge pages (Linux's
/// /sys/kernel/mm/transparent_hugepage/enabled).
public enum TransparentHugePages: String, Sendable, CaseIterable {
    /// Every eligible fault, unless the range is advised `nohugepage`.
    case always
    /// Only ranges advised `hugepage`.
    case madvise
    /// None.
    case never
}

/// How an IPI a guest sends reaches its target vCPU.
public enum VirtualIPIDelivery: String, Sendable, CaseIterable {
    /// The target exits to take the interrupt, and again for its EOI.
    case trapped
    /// Posted interrupts (Intel APICv, AMD AVIC): no exit on the target.
    case posted
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

/// Every setting of a run: machine size, TLB geometry, kernel policy and costs.
/// Each key that reads or writes a field is declared once, in
/// `Configuration.declarations` (ConfigurationKeys.swift).
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
    public var thp = TransparentHugePages.never
    /// Levels of paging: 4 (48-bit addresses), or 5 (57-bit, a PML5 root).
    public var pagingLevels = 4
    /// Levels of the nested page tables of every VM: 4 or 5.
    public var nestedLevels = 4
    public var virtualIPIs = VirtualIPIDelivery.trapped
    public var geometry = TLBGeometry()
    public var costs = CostModel()

    public init() {}

    /// Limits enforced on every setting, so a bad value gets a message instead of
    /// exhausting host memory.
    public enum Limits {
        public static let cores = 1...1024
        /// 2 frames (8 KiB: the zero page and one more) to 64 Mi frames
        /// (256 GiB) of emulated memory; a pool too small for
        /// a trace gives OOM kills, not a refusal.
        public static let frames = 2...(1 << 26)
        public static let tlbEntries = 0...65_536
        public static let pscEntries = 0...4096
        /// Page-table lines per cache level (4 MiB of lines at most per level).
        public static let pageTableLines = 0...65_536
        public static let flushCeiling: ClosedRange<UInt64> = 0...(1 << 20)
        public static let cost: ClosedRange<UInt64> = 0...1_000_000_000
    }

    /// Every key `set` accepts, in declaration order.
    public static var keys: [String] { declarations.map(\.name) }

    /// Whether `key` only matters to virtual machines (a report of a run
    /// without VMs leaves such keys out).
    public static func isVirtualizationKey(_ key: String) -> Bool {
        key.hasPrefix("ept.") || key.hasPrefix("vm.") || key.hasPrefix("tlb.nested.") || key.hasPrefix("psc.nested.")
            || key.hasPrefix("cost.vm.") || key == "cost.invept" || key == "cost.ksm.page"
    }

    /// Applies `key = value`, the value as a trace or command line writes it.
    public mutating func set(_ key: String, _ value: String) throws(ConfigurationError) {
        guard let declaration = ConfigurationKey.named(key) else {
            throw ConfigurationError("unknown configuration key '\(key)'", part: .key)
        }
        try declaration.set(value, in: &self)
    }

    /// Checks the settings that depend on each other (TLB ways must divide entries).
    public func validate() throws(ConfigurationError) {
        let tlbs = [("tlb.l1d", geometry.l1dEntries, geometry.l1dWays),
                    ("tlb.l1i", geometry.l1iEntries, geometry.l1iWays),
                    ("tlb.l2", geometry.l2Entries, geometry.l2Ways),
                    ("tlb.l1d.2m", geometry.l1d2MEntries, geometry.l1d2MWays),
                    ("tlb.l1d.1g", geometry.l1d1GEntries, geometry.l1d1GWays),
                    ("tlb.l1i.2m", geometry.l1i2MEntries, geometry.l1i2MWays),
                    ("tlb.l2.1g", geometry.l2OneGEntries, geometry.l2OneGWays),
                    ("tlb.nested", geometry.nestedTLBEntries, geometry.nestedTLBWays)]
        for (name, entries, ways) in tlbs where entries > 0 && (ways > entries || entries % ways != 0) {
            throw ConfigurationError("\(name).ways (\(ways)) must divide \(name).entries (\(entries))", part: .value)
        }
    }

    /// The value of `key` as `set` would take it (for reports and `mmusim config`);
    /// `model` for `cost.walk.ref` until it is set.
    public func value(of key: String) -> String? {
        ConfigurationKey.named(key)?.value(in: self)
    }

    /// Parses a decimal or `0x` hexadecimal unsigned number.
    public static func parseNumber(_ text: Substring) -> UInt64? {
        if text.hasPrefix("0x") || text.hasPrefix("0X") {
            let digits = text.dropFirst(2)
            // UInt64(_:radix:) takes a leading sign; a hex number has none.
            guard !digits.isEmpty, digits.allSatisfy(\.isHexDigit) else { return nil }
            return UInt64(digits, radix: 16)
        }
        guard !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return UInt64(text, radix: 10)
    }
}
