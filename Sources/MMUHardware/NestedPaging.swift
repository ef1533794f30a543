/// The fields of a VMCS the MMU reads while a core runs a guest (SDM vol. 3C,
/// 25.6.11 and 29.1): the VPID its translations are tagged with and the
/// root of the nested page tables (the EPTP's table, AMD's nCR3).
///
/// The nested tables use the ordinary long-mode entry format, as AMD's
/// nested paging does (APM vol. 2, 15.25.5): P, R/W, U/S, A, D, PS, NX.
/// Intel's EPT keeps the same tree with read/write/execute bits in place of
/// P, R/W and NX; the walk, its references and its costs are the same.
public struct VirtualMachineControls: Hashable, Sendable {
    /// The guest's VPID (1...`maximumVPID`; 0 is the host's).
    public var vpid: UInt16
    /// The root table of the nested page tables, a host frame.
    public var nestedRoot: FrameNumber
    /// The level of that root: PML4 with four-level nested paging, PML5 with five.
    public var nestedRootLevel: PagingLevel

    public init(vpid: UInt16, nestedRoot: FrameNumber, nestedRootLevel: PagingLevel) {
        self.vpid = vpid
        self.nestedRoot = nestedRoot
        self.nestedRootLevel = nestedRootLevel
    }

    /// The largest VPID: a translation's tag holds the PCID in its low 12
    /// bits and the VPID in the 4 above them.
    public static let maximumVPID: UInt16 = 15

    /// The tag the TLBs and paging-structure caches hold for `pcid` of VM `vpid`.
    @inlinable public static func tag(vpid: UInt16, pcid: PCID) -> PCID {
        PCID(rawValue: vpid << 12 | pcid.rawValue)
    }

    /// The tag of this VM's nested translations in the nested TLB and caches.
    @inlinable public var nestedTag: PCID { PCID(rawValue: vpid) }
}

extension PCID {
    /// The VPID part of a translation's tag (0: the host's).
    @inlinable public var vpid: UInt16 { rawValue >> 12 }
}

/// An EPT violation (SDM 28.3.3.2; AMD's nested page fault): a guest access
/// whose guest-physical address the nested tables do not map for it. It
/// exits to the hypervisor with this exit qualification.
public struct EPTViolation: Hashable, Sendable {
    /// The access the nested tables refused: a read, a write, or a fetch.
    public var kind: AccessKind
    /// The guest-physical address (the exit's guest-physical-address field).
    public var guestPhysical: UInt64
    /// The guest-linear address being translated.
    public var guestLinear: VirtualAddress
    /// True when the access was to the final guest-physical address of the
    /// translation, false when it was to a guest paging-structure entry
    /// (exit qualification bit 8).
    public var isFinalAddress: Bool
    /// Whether a nested entry was present and denied the access (false:
    /// no nested mapping at all). Bits 3-5 of the qualification, in short.
    public var wasPresent: Bool

    public init(kind: AccessKind, guestPhysical: UInt64, guestLinear: VirtualAddress, isFinalAddress: Bool,
                wasPresent: Bool) {
        self.kind = kind
        self.guestPhysical = guestPhysical
        self.guestLinear = guestLinear
        self.isFinalAddress = isFinalAddress
        self.wasPresent = wasPresent
    }

    /// The guest frame the violation is about.
    public var guestFrame: FrameNumber { FrameNumber(guestPhysical >> Paging.pageShift) }

    /// The exit qualification's low bits as the SDM lays them out: 0 read,
    /// 1 write, 2 fetch, 3 the entry was readable (present here), 7 the
    /// guest-linear address is valid, 8 the access was to the final address.
    public var qualification: UInt64 {
        var bits: UInt64 = kind == .write ? 1 << 1 : kind == .fetch ? 1 << 2 : 1 << 0
        if wasPresent { bits |= 1 << 3 }
        bits |= 1 << 7
        if isFinalAddress { bits |= 1 << 8 }
        return bits
    }
}

extension Event.Span {
    /// An EPT violation from the VM exit to the VM entry.
    public static let eptViolation = Event.Span("EPT violation", category: "vm")
}
