/// An 8-byte x86-64 paging-structure entry (Intel SDM vol. 3A, tables 4-15 to 4-20).
///
/// The same layout serves every level: at the PDPT and PD levels `PS` turns the
/// entry into a leaf mapping 1 GiB or 2 MiB.
public struct PageTableEntry: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// The flag bits of an entry.
    public struct Flags: OptionSet, Hashable, Sendable {
        public var rawValue: UInt64
        @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue }
        /// P, bit 0: present.
        public static let present = Flags(rawValue: 1 << 0)
        /// R/W, bit 1: writes allowed.
        public static let writable = Flags(rawValue: 1 << 1)
        /// U/S, bit 2: user-mode accesses allowed.
        public static let user = Flags(rawValue: 1 << 2)
        /// PWT, bit 3: page-level write-through.
        public static let writeThrough = Flags(rawValue: 1 << 3)
        /// PCD, bit 4: page-level cache disable.
        public static let cacheDisable = Flags(rawValue: 1 << 4)
        /// A, bit 5: accessed, set by the walker.
        public static let accessed = Flags(rawValue: 1 << 5)
        /// D, bit 6: dirty, set by the walker on a write (leaf entries only).
        public static let dirty = Flags(rawValue: 1 << 6)
        /// PS, bit 7: page size; a leaf at the PDPT (1 GiB) or PD (2 MiB) level.
        public static let pageSize = Flags(rawValue: 1 << 7)
        /// G, bit 8: global; survives CR3 writes (with CR4.PGE).
        public static let global = Flags(rawValue: 1 << 8)
        /// Software bit 9: mmusim's copy-on-write mark (Linux uses a software bit alike).
        public static let copyOnWrite = Flags(rawValue: 1 << 9)
        /// Software bit 10, free for the kernel.
        public static let software10 = Flags(rawValue: 1 << 10)
        /// Software bit 11, free for the kernel.
        public static let software11 = Flags(rawValue: 1 << 11)
        /// XD/NX, bit 63: instruction fetches not allowed (with EFER.NXE).
        public static let noExecute = Flags(rawValue: 1 << 63)
    }

    /// Bits 51:12: the physical frame number.
    public static let frameMask: UInt64 = 0x000F_FFFF_FFFF_F000

    @inlinable public init(frame: FrameNumber, flags: Flags) {
        rawValue = (frame.rawValue << Paging.pageShift) & Self.frameMask | flags.rawValue
    }

    public static let empty = PageTableEntry(rawValue: 0)

    /// Every bit outside 51:12 (the flags, software and NX bits).
    @inlinable public var flags: Flags {
        get { Flags(rawValue: rawValue & ~Self.frameMask) }
        set { rawValue = rawValue & Self.frameMask | newValue.rawValue & ~Self.frameMask }
    }
    /// The PFN in bits 51:12.
    @inlinable public var frame: FrameNumber {
        get { FrameNumber((rawValue & Self.frameMask) >> Paging.pageShift) }
        set { rawValue = rawValue & ~Self.frameMask | (newValue.rawValue << Paging.pageShift) & Self.frameMask }
    }
    @inlinable public var isPresent: Bool { rawValue & 1 != 0 }
    @inlinable public func has(_ flag: Flags) -> Bool { rawValue & flag.rawValue != 0 }

    public var description: String {
        var names: [String] = []
        let table: [(Flags, String)] = [
            (.present, "P"), (.writable, "RW"), (.user, "US"), (.writeThrough, "PWT"),
            (.cacheDisable, "PCD"), (.accessed, "A"), (.dirty, "D"), (.pageSize, "PS"),
            (.global, "G"), (.copyOnWrite, "COW"), (.noExecute, "NX"),
        ]
        for (flag, name) in table where has(flag) { names.append(name) }
        return "\(hex(rawValue)) [pfn \(frame.rawValue) \(names.joined(separator: "|"))]"
    }
}

/// The #PF error code pushed on the stack (Intel SDM vol. 3A, 4.7, figure 4-12).
public struct PageFaultErrorCode: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    @inlinable public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// P, bit 0: 0 = not-present page, 1 = protection violation.
    public static let protection = PageFaultErrorCode(rawValue: 1 << 0)
    /// W/R, bit 1: the access was a write.
    public static let write = PageFaultErrorCode(rawValue: 1 << 1)
    /// U/S, bit 2: the access was made in user mode.
    public static let user = PageFaultErrorCode(rawValue: 1 << 2)
    /// RSVD, bit 3: a reserved bit was set in some paging-structure entry.
    public static let reservedBit = PageFaultErrorCode(rawValue: 1 << 3)
    /// I/D, bit 4: the access was an instruction fetch.
    public static let instructionFetch = PageFaultErrorCode(rawValue: 1 << 4)

    public var description: String {
        var parts: [String] = [contains(.protection) ? "P" : "NP"]
        parts.append(contains(.write) ? "W" : "R")
        parts.append(contains(.user) ? "U" : "S")
        if contains(.reservedBit) { parts.append("RSVD") }
        if contains(.instructionFetch) { parts.append("I") }
        return "\(hex(UInt64(rawValue))) [\(parts.joined(separator: "|"))]"
    }
}
