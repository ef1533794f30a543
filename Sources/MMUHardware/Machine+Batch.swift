/// Many trace records at once (`System.touch(core:_:observer:)`): the access
/// path inlined into one loop, with no call per record.

/// One record of a batch: `bytes` from `address`, no data (`MemoryOperation.reference`).
public protocol TouchRecord {
    var kind: AccessKind { get }
    var address: VirtualAddress { get }
    var bytes: UInt64 { get }
}

/// Told how each record of a batch ended and the cycles it took on its core.
public protocol TouchObserver {
    mutating func touched(_ outcome: ExecutionOutcome, cycles: CycleCount)
    /// `count` records in a row that each completed in `cycles` cycles (a
    /// run of L1 hits): as many calls of `touched(.completed(0), cycles:)`.
    mutating func touched(completed count: UInt64, cycles: CycleCount)
}

extension TouchObserver {
    public mutating func touched(completed count: UInt64, cycles: CycleCount) {
        for _ in 0..<count { touched(.completed(0), cycles: cycles) }
    }
}

extension Machine {
    /// `execute(.reference(...), on: core, os: &os)` for each record of
    /// `records` in order, exactly as that many calls would run them; after
    /// each, `observer` hears its outcome and the cycles `core`'s clock moved.
    @inline(__always)
    public mutating func touch<Record: TouchRecord, OS: ExceptionHandler, Observer: TouchObserver>(
        _ records: UnsafeBufferPointer<Record>, on core: CoreID, os: inout OS, observer: inout Observer) {
        let c = core.rawValue
        let top = canonicalTopBit
        var next = 0
        while next < records.count {
            let record = records[next]
            let before = cores[c].clock
            var l1Missed = false
            if !os.observesTranslations && !cores[c].log.isEnabled {
                // An L1 hit goes the short way (`Core.translateByL1Hit`); if
                // the next record hits too, a run of hits goes shorter still
                // (`Core.runL1Hits`). A clean L1 miss goes the general way
                // from after the L1's lookup.
                switch cores[c].translateByL1Hit(record.address, bytes: record.bytes, record.kind, canonicalTopBit: top) {
                case .translated:
                    observer.touched(.completed(0), cycles: cores[c].clock &- before)
                    next &+= 1
                    if next < records.count && cores[c].startsL1HitRun(records[next], canonicalTopBit: top) {
                        next = cores[c].runL1Hits(records, from: next, canonicalTopBit: top, observer: &observer)
                    }
                    continue
                case .missed: l1Missed = true
                case .other: break
                }
            }
            let operation = MemoryOperation.reference(record.kind, record.address, bytes: record.bytes)
            let outcome = cores[c].log.isEnabled ? executeLogging(operation, on: core, os: &os)
                                                 : execute(operation, on: core, os: &os, logging: false, l1Missed: l1Missed)
            observer.touched(outcome, cycles: cores[c].clock &- before)
            next &+= 1
        }
    }
}
