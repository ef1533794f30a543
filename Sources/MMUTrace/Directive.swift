import MMUHardware
import MMUKernel

/// One line of a `.mmt` trace (docs/reference/trace-format.md), its numbers parsed.
public enum Directive: Hashable, Sendable {
    case set(key: String, value: String)
    /// `process PID [vm VMID]`: a process of the host, or of VM `vm`.
    case process(pid: UInt64, vm: UInt64? = nil)
    /// `vm VMID FRAMES`: a guest with a guest-physical space of FRAMES frames.
    case vm(id: UInt64, frames: UInt64)
    /// `ksm [CORE]`: one same-page-merging pass, run on CORE (default 0).
    case ksm(core: Int)
    case `switch`(core: Int, pid: UInt64?)
    /// `map`; `pageSize` 2 MiB or 1 GiB maps a hugetlb region.
    case map(core: Int, address: VirtualAddress, pages: UInt64, permissions: RegionPermissions, pageSize: PageSize)
    case unmap(core: Int, address: VirtualAddress, pages: UInt64)
    case protect(core: Int, address: VirtualAddress, pages: UInt64, permissions: RegionPermissions)
    case madvise(core: Int, address: VirtualAddress, pages: UInt64, advice: HugePageAdvice)
    case fork(core: Int, child: UInt64)
    case exit(core: Int)
    case tick(core: Int)
    /// `r`, `w` or `x`. For `r`, `value` is the `=VALUE` asserted (if any);
    /// for `w`, the value stored.
    case access(core: Int, kind: AccessKind, address: VirtualAddress, value: UInt64?)
    case expect(key: String, value: UInt64)

    /// The core the directive runs on, if any.
    public var core: Int? {
        switch self {
        case .switch(let core, _), .map(let core, _, _, _, _), .unmap(let core, _, _), .protect(let core, _, _, _),
             .madvise(let core, _, _, _),
             .fork(let core, _), .exit(let core), .tick(let core), .access(let core, _, _, _), .ksm(let core):
            return core
        case .set, .process, .vm, .expect:
            return nil
        }
    }
}

/// A directive with the place it came from.
public struct TraceLine: Hashable, Sendable {
    public var directive: Directive
    public var line: Int
    /// Column of each field, the directive's name first (for messages).
    public var columns: [Int]
}
