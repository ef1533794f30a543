/// Deliberately broken kernel variants, so tests can show the checkers catch
/// the bugs real copy-on-write kernels have had. Compiled in only where
/// `MMUSIM_FAULT_INJECTION` is defined (debug builds, which the tests use);
/// in a release build every check for a defect is a constant false.
struct KernelDefects: OptionSet, Sendable {
    let rawValue: UInt8
    /// `ipi` skips the first target of every shootdown.
    static let skipFirstShootdownTarget = KernelDefects(rawValue: 1 << 0)
    /// `unmap` invalidates nothing and frees its frames at once.
    static let skipUnmapShootdown = KernelDefects(rawValue: 1 << 1)
    /// `deferred` frees the frames before the targets have invalidated.
    static let freeBeforeDeferredInvalidation = KernelDefects(rawValue: 1 << 2)
    /// A COW break installs the new frame without invalidating the old
    /// translation anywhere (Dirty COW's stale writable path).
    static let cowBreakWithoutInvalidation = KernelDefects(rawValue: 1 << 3)
    /// Frames are handed out without being zeroed (still charged as zeroed).
    static let skipZeroFill = KernelDefects(rawValue: 1 << 4)
    /// The hypervisor remaps a nested entry without INVEPT anywhere.
    static let skipNestedShootdown = KernelDefects(rawValue: 1 << 5)
}
