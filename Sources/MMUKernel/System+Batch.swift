import MMUHardware

/// Trace records many at a time: what a streamed run (Lackey, ChampSim) does
/// with each batch it reads, without a call per record.
extension System {
    /// `touch(core:_:_:bytes:)` for each record of `records` in order, exactly
    /// as that many calls would run them; after each, `observer` hears its
    /// outcome and the cycles `core`'s clock moved.
    @inline(__always)
    public mutating func touch<Record: TouchRecord, Observer: TouchObserver>(
        core: CoreID, _ records: UnsafeBufferPointer<Record>, observer: inout Observer) {
        machine.touch(records, on: core, os: &kernel, observer: &observer)
    }
}
