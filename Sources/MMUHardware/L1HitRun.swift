/// Accesses that hit the L1 TLB's 4 KiB array, the common case, done
/// without the general access path's bookkeeping: runs of trace records
/// (`Core.runL1Hits`) and single operations (`Core.translateByL1Hit`; one
/// that misses goes on from after the L1's lookup).
///
/// A record that translates by an L1 4 KiB hit, touches one page and moves
/// no data changes only the hit entry's use stamp, two counters and the
/// clock. A run of such records therefore holds the L1 arrays' slots in
/// place for the whole run and adds the counters and cycles once at its end;
/// the first record that is anything else (another page, a miss, a hit
/// that does not permit the access, a non-canonical address) ends the run
/// untouched and goes the general way (`Machine.execute`), so every record
/// has exactly the effect, in the same order, it would have had there.

extension TranslationLookasideBuffer {
    /// Lookups of 4 KiB pages in the array's narrow sets, holding its slots in
    /// place (`withHitRun`). A probe either hits an entry that permits the
    /// access, marking it used as `search` does, or changes nothing.
    struct HitRun {
        typealias Stored = SetAssociativeArray<Entry, LeastRecentlyUsed>.Stored
        let slots: UnsafeMutableBufferPointer<Stored>
        let sets: SetAssociativeArray<Entry, LeastRecentlyUsed>.NarrowSets
        var policy: LeastRecentlyUsed
        /// This run's last hit: its page and kind (`page << 2 | kind`; no
        /// page is that large, so `.max` is none) and its slot.
        var lastHit: UInt64 = .max
        var lastSlot = 0

        /// Whether the 4 KiB page of `address` hits under `pcid` for an
        /// access of `kind` (never for a non-canonical address); a hit
        /// becomes the most recently used of its set.
        ///
        /// An access of the kind and page the last hit had (the common case:
        /// consecutive records on one page) hits the same slot, whose rights
        /// permitted that kind, without a search and without a new use
        /// stamp: the slot took the array's latest stamp at that hit, so it
        /// is already the most recent, and a replacement decision, which
        /// compares stamps only with one another, comes out as if it had
        /// been stamped again. (Nothing but hits changes the array during a run.)
        @inline(__always) mutating func hit(_ address: VirtualAddress, _ pcid: PCID, _ kind: AccessKind,
                                            canonicalTopBit top: UInt64) -> Bool {
            let page = address.pageNumber
            let key = page << 2 | UInt64(kind.rawValue)
            if key == lastHit { return true }
            if page == lastHit >> 2 {
                guard slots[lastSlot].entry.rights.permits(kind) else { return false }
                lastHit = key
                return true
            }
            // A non-canonical address is a #GP (no entry could match it anyway);
            // the last page was canonical.
            guard address.isCanonical(topBit: top) else { return false }
            let tag = TranslationLookasideBuffer.tag(page, .size4K)
            var slot = sets.firstSlot(ofSetFor: page)
            let end = slot &+ sets.ways
            while slot < end {
                let entry = slots[slot].entry
                if entry.matches(tag, pcid) {
                    guard entry.rights.permits(kind) else { return false }
                    slots[slot].state = policy.stateOnUse()
                    lastHit = key
                    lastSlot = slot
                    return true
                }
                slot &+= 1
            }
            return false
        }
    }

    /// What `lookUpHit` found.
    enum HitLookup {
        /// The frame of the entry hit, now the most recently used.
        case hit(frame: UInt64)
        /// No entry of any size matches: `search` would miss too.
        case miss
        /// Something else (an entry that does not permit the access, an
        /// array holding large or indexed entries): nothing was changed.
        case other
    }

    /// The slot of the 4 KiB entry for `address` usable under `pcid`, in the
    /// narrow sets only (an indexed array answers nil).
    @inline(__always) func narrowSlot(_ address: VirtualAddress, _ pcid: PCID) -> Slot? {
        let page = address.pageNumber
        let tag = Self.tag(page, .size4K)
        return array.findIfNarrow(set: page, where: { $0.matches(tag, pcid) })
    }

    /// The 4 KiB entry of the narrow sets that `address` hits under `pcid`
    /// for an access of `kind`, made the most recently used.
    @inline(__always) mutating func lookUpHit(_ address: VirtualAddress, _ pcid: PCID, _ kind: AccessKind) -> HitLookup {
        guard let slot = narrowSlot(address, pcid) else { return largeEntries == 0 ? .miss : .other }
        let entry = array[slot]
        guard entry.rights.permits(kind) else { return .other }
        array.touch(slot)
        return .hit(frame: entry.frame)
    }

    /// Whether `lookUpHit` would hit (it changes nothing).
    @inline(__always) func wouldHit(_ address: VirtualAddress, _ pcid: PCID, _ kind: AccessKind) -> Bool {
        guard let slot = narrowSlot(address, pcid) else { return false }
        return array[slot].rights.permits(kind)
    }

    /// `body` with a `HitRun` over this TLB's slots.
    @inline(__always) mutating func withHitRun<R>(_ body: (inout HitRun) -> R) -> R {
        let sets = array.narrowSets
        return array.withSlotsInPlace { slots, policy in
            var run = HitRun(slots: slots, sets: sets, policy: policy)
            defer { policy = run.policy }
            return body(&run)
        }
    }
}

extension Core {
    /// Whether `bytes` from `address` lie in its 4 KiB page (the offset plus
    /// `bytes - 1` carries into no page bit). A size of 0, which the general
    /// path takes as 1, passes exactly when 1 would, except at offset 0,
    /// where it wraps and the record goes the general way.
    @inline(__always) static func staysInPage(_ address: VirtualAddress, bytes: UInt64) -> Bool {
        address.pageOffset &+ (bytes &- 1) < Paging.pageSize
    }

    /// The PCID an L1 short way looks `bytes` from `address` up under: the
    /// loaded CR3's, when one is loaded and the bytes are canonical and lie
    /// in one page; nil when the access must go the general way.
    @inline(__always)
    func shortWayPCID(_ address: VirtualAddress, bytes: UInt64, canonicalTopBit top: UInt64) -> PCID? {
        guard let cr3, Self.staysInPage(address, bytes: bytes), address.isCanonical(topBit: top) else { return nil }
        return cr3.pcid
    }

    /// Whether `record` would start a run of `runL1Hits`: a one-page access
    /// whose 4 KiB page hits the L1 with rights for it. Changes nothing, so
    /// a record that misses (a walk follows) costs one probe and no set-up.
    /// (Mutating only so the core is reached in place, not copied.)
    @inline(__always)
    mutating func startsL1HitRun<Record: TouchRecord>(_ record: Record, canonicalTopBit top: UInt64) -> Bool {
        guard let pcid = shortWayPCID(record.address, bytes: record.bytes, canonicalTopBit: top) else { return false }
        return record.kind == .fetch ? l1i.wouldHit(record.address, pcid, .fetch) : l1d.wouldHit(record.address, pcid, record.kind)
    }

    /// Runs `records[start...]` for as long as each is a one-page access that
    /// hits the L1's 4 KiB array (see the file's introduction), telling
    /// `observer` their outcome and cycles at the end; returns the index of the
    /// first record it did not run. Called only with event logging off and no
    /// checker watching translations.
    @inline(__always)
    mutating func runL1Hits<Record: TouchRecord, Observer: TouchObserver>(
        _ records: UnsafeBufferPointer<Record>, from start: Int, canonicalTopBit top: UInt64,
        observer: inout Observer) -> Int {
        guard let cr3 else { return start }
        let pcid = cr3.pcid
        let lookup = costs[.tlbL1], retire = costs[.access]
        let cycles = lookup &+ retire
        var fetchHits: UInt64 = 0
        var next = start
        l1d.withHitRun { data in
            l1i.withHitRun { fetches in
                while next < records.count {
                    let record = records[next]
                    let address = record.address
                    guard Self.staysInPage(address, bytes: record.bytes) else { return }
                    if record.kind == .fetch {
                        guard fetches.hit(address, pcid, .fetch, canonicalTopBit: top) else { return }
                        fetchHits &+= 1
                    } else {
                        guard data.hit(address, pcid, record.kind, canonicalTopBit: top) else { return }
                    }
                    next &+= 1
                }
            }
        }
        // What each hit would have charged and counted, in one go (the sums
        // wrap as the single charges would).
        let hits = UInt64(next &- start), dataHits = hits &- fetchHits
        if hits > 0 { observer.touched(completed: hits, cycles: cycles) }
        statistics.l1dHits &+= dataHits
        statistics.l1iHits &+= fetchHits
        statistics.accesses &+= hits
        account.charge(lookup &* hits, to: CostKey.tlbL1.category)
        account.charge(retire &* hits, to: CostKey.access.category)
        return next
    }
}

extension Core {
    /// How `translateByL1Hit` ended.
    enum L1HitTranslation {
        case translated(PhysicalAddress)
        /// A one-page access the L1 misses cleanly: the general path may
        /// start after the L1's lookup (`translateAfterCleanL1Miss`).
        case missed
        /// Anything else, with nothing changed: the general path from the start.
        case other
    }

    /// The physical address of a one-page operation of `bytes` from
    /// `address` that hits the L1's 4 KiB array, charged, counted and
    /// retired as the general path retires it when nothing watches (no event
    /// log, no checker).
    @inline(__always)
    mutating func translateByL1Hit(_ address: VirtualAddress, bytes: UInt64, _ kind: AccessKind,
                                   canonicalTopBit top: UInt64) -> L1HitTranslation {
        guard let pcid = shortWayPCID(address, bytes: bytes, canonicalTopBit: top) else { return .other }
        let frame: UInt64
        switch kind == .fetch ? l1i.lookUpHit(address, pcid, kind) : l1d.lookUpHit(address, pcid, kind) {
        case .hit(let hit): frame = hit
        case .miss: return .missed
        case .other: return .other
        }
        charge(.tlbL1, logging: false)
        if kind == .fetch { statistics.l1iHits &+= 1 } else { statistics.l1dHits &+= 1 }
        retireTranslation()
        return .translated(PhysicalAddress(rawValue: frame << Paging.pageShift | address.pageOffset))
    }

    /// `translate(_:_:memory:logging:retiring:)` without event logging, for
    /// an access `translateByL1Hit` found missing the L1 cleanly: the L1's
    /// charge, then the rest of the translation as after the L1's lookup.
    @inline(__always)
    mutating func translateAfterCleanL1Miss(_ address: VirtualAddress, _ kind: AccessKind, memory: inout PhysicalMemory,
                                            retiring: Bool) -> TranslationOutcome {
        guard let cr3 else { return .pageFault(.user) }
        charge(.tlbL1, logging: false)
        let outcome = translateAfterL1Miss(address, kind, cr3, l1Slot: nil, dropped: false, memory: &memory)
        if retiring, case .translated = outcome { retireTranslation() }
        return outcome
    }
}
