import MMUHardware

/// What a physical frame is used for.
public enum FrameUse: UInt8, Sendable {
    case free
    /// Mapped by one or more processes (reference-counted, each 4 KiB frame
    /// of a huge page on its own).
    case data
    case pageTable
    /// Unmapped or freed, waiting for a deferred invalidation before reuse.
    case pending
    /// Frame 0: the shared zero page, reserved whether or not it is used.
    case zeroPage
    /// A frame of the huge zero page, reserved once taken.
    case reserved
}

/// The kernel's pool of physical frames: a binary buddy allocator (Linux's
/// `mm/page_alloc.c`). Free frames are held in naturally aligned blocks of
/// 2^order frames, order 0 to `maximumOrder`; a request of order k takes the
/// lowest-addressed free block of the smallest order ≥ k and splits it,
/// keeping the lower half; a freed frame merges with its free buddy as far as
/// it can. Every frame also has a use and, for data frames, a reference count
/// (Linux's `_mapcount`), so a huge page is freed frame by frame and its
/// blocks merge back.
public struct FrameAllocator: Sendable {
    /// The largest block: 2^18 frames, 1 GiB.
    public static let maximumOrder = 18

    public let frameCount: Int
    private var use: [FrameUse]
    private var references: [UInt32]
    /// Free blocks of each order, by block number (first frame >> order).
    private var freeBlocks: [FreeBlockSet]

    public private(set) var freeFrames: Int
    public private(set) var dataFrames = 0
    public private(set) var pageTableFrames = 0
    public private(set) var pendingFrames = 0
    /// The zero frame, and the huge zero page's frames once taken.
    public private(set) var reservedFrames = 1

    public init(frameCount: Int) {
        self.frameCount = frameCount
        use = [FrameUse](repeating: .free, count: frameCount)
        references = [UInt32](repeating: 0, count: frameCount)
        freeBlocks = (0...Self.maximumOrder).map { FreeBlockSet(blocks: (frameCount + (1 << $0) - 1) >> $0) }
        if frameCount > 0 { use[0] = .zeroPage }
        freeFrames = max(0, frameCount - 1)
        // Frame 0 is never free: the pool starts as the maximal aligned blocks of [1, frames).
        var frame = 1
        while frame < frameCount {
            var order = min(Self.maximumOrder, frame.trailingZeroBitCount)
            while frame + (1 << order) > frameCount { order -= 1 }
            freeBlocks[order].insert(frame >> order)
            frame += 1 << order
        }
    }

    /// Takes a free block of 2^`order` frames for `purpose` (`.data`,
    /// `.pageTable` or `.reserved`); returns its first frame, nil when no
    /// block that large is free. Each data frame starts with one reference.
    public mutating func allocate(_ purpose: FrameUse, order: Int = 0) -> FrameNumber? {
        guard order >= 0, order <= Self.maximumOrder,
              let found = (order...Self.maximumOrder).first(where: { !freeBlocks[$0].isEmpty }),
              var block = freeBlocks[found].lowest() else { return nil }
        freeBlocks[found].remove(block)
        // Split down to the order asked for, freeing each upper half.
        var current = found
        while current > order {
            current -= 1
            block <<= 1
            freeBlocks[current].insert(block + 1)
        }
        let first = block << order, count = 1 << order
        for f in first..<(first + count) {
            use[f] = purpose
            if purpose == .data { references[f] = 1 }
        }
        freeFrames -= count
        switch purpose {
        case .data: dataFrames += count
        case .pageTable: pageTableFrames += count
        case .reserved: reservedFrames += count
        default: break
        }
        return FrameNumber(UInt64(first))
    }

    public func use(of frame: FrameNumber) -> FrameUse {
        frame.rawValue < UInt64(frameCount) ? use[frame.index] : .free
    }

    public func referenceCount(_ frame: FrameNumber) -> Int {
        frame.rawValue < UInt64(frameCount) ? Int(references[frame.index]) : 0
    }

    /// One more PTE maps this data frame (fork sharing it).
    public mutating func retain(_ frame: FrameNumber) {
        guard use(of: frame) == .data else { return }
        references[frame.index] += 1
    }

    /// One PTE less maps this data frame. Returns true when that was the last
    /// reference: the caller must then free it (or hold it pending).
    public mutating func drop(_ frame: FrameNumber) -> Bool {
        guard use(of: frame) == .data, references[frame.index] > 0 else { return false }
        references[frame.index] -= 1
        return references[frame.index] == 0
    }

    /// Returns an unreferenced data frame, a page-table frame or a pending
    /// frame to the pool, merging it with its free buddies.
    public mutating func free(_ frame: FrameNumber) {
        guard release(frame) else { return }
        insertMerging(frame.index, order: 0)
    }

    /// Frees every frame of `list` (each as `free` would). The pool ends as
    /// freeing them one by one leaves it (buddy merging does not depend on
    /// order), but runs of consecutive frames go in as whole blocks: a 1 GiB
    /// unmap inserts a few blocks instead of merging 262,144 times.
    public mutating func free(_ list: [FrameNumber]) {
        var freed: [Int] = []
        freed.reserveCapacity(list.count)
        for frame in list where release(frame) { freed.append(frame.index) }
        if zip(freed, freed.dropFirst()).contains(where: { $0 >= $1 }) { freed.sort() }
        var i = 0
        while i < freed.count {
            let first = freed[i]
            var order = 0
            while order < Self.maximumOrder {
                let size = 1 << (order + 1)
                guard first & (size - 1) == 0, i + size <= freed.count, freed[i + size - 1] == first + size - 1 else { break }
                order += 1
            }
            insertMerging(first >> order, order: order)
            i += 1 << order
        }
    }

    /// Marks `frame` free and updates the counts; false when it was not in
    /// use by a process, a table or a pending invalidation.
    private mutating func release(_ frame: FrameNumber) -> Bool {
        switch use(of: frame) {
        case .data: dataFrames -= 1
        case .pageTable: pageTableFrames -= 1
        case .pending: pendingFrames -= 1
        case .free, .zeroPage, .reserved: return false
        }
        use[frame.index] = .free
        references[frame.index] = 0
        freeFrames += 1
        return true
    }

    /// Puts free block `block` of `order` in the pool, merged with its free buddies.
    private mutating func insertMerging(_ block: Int, order: Int) {
        var block = block, order = order
        while order < Self.maximumOrder && freeBlocks[order].contains(block ^ 1) {
            freeBlocks[order].remove(block ^ 1)
            block >>= 1
            order += 1
        }
        freeBlocks[order].insert(block)
    }

    /// Holds an unreferenced data frame or freed page-table frame until a
    /// deferred invalidation completes.
    public mutating func hold(_ frame: FrameNumber) {
        switch use(of: frame) {
        case .data: dataFrames -= 1
        case .pageTable: pageTableFrames -= 1
        default: return
        }
        use[frame.index] = .pending
        references[frame.index] = 0
        pendingFrames += 1
    }

    /// Free blocks of each order, 0 to `maximumOrder` (Linux's /proc/buddyinfo).
    public var freeBlocksByOrder: [Int] { freeBlocks.map(\.count) }

    /// The share of free frames that an allocation of `order` cannot use,
    /// because they lie in smaller blocks (Linux's unusable free space index):
    /// 0 when every free frame is in a block that large, 1 when none is.
    public func unusableFreeIndex(order: Int) -> Double {
        guard freeFrames > 0 else { return 0 }
        var usable = 0
        for k in order...Self.maximumOrder { usable += freeBlocks[k].count << k }
        return Double(freeFrames - usable) / Double(freeFrames)
    }
}

/// The free blocks of one order: a bitmap over block numbers with a summary
/// level for every 64 words below it, so the lowest free block is found,
/// and a block added or removed, in a few word operations (O(log n)). All
/// levels live in one flat buffer, level 0 first.
struct FreeBlockSet: Sendable {
    /// Level `l` occupies `words[offsets[l] ..< offsets[l + 1]]`; level 0 has
    /// a bit per block, level l + 1 a bit per word of level l that is not zero.
    private var words: [UInt64]
    private let offsets: [Int]
    private(set) var count = 0

    init(blocks: Int) {
        var offsets = [0]
        var bits = max(1, blocks)
        repeat {
            let words = (bits + 63) / 64
            offsets.append(offsets[offsets.count - 1] + words)
            bits = words
        } while bits > 1
        self.offsets = offsets
        words = [UInt64](repeating: 0, count: offsets[offsets.count - 1])
    }

    var isEmpty: Bool { count == 0 }
    private var levelCount: Int { offsets.count - 1 }

    func contains(_ block: Int) -> Bool {
        guard block >= 0, block >> 6 < offsets[1] else { return false }
        return words[block >> 6] & (1 << UInt64(block & 63)) != 0
    }

    mutating func insert(_ block: Int) {
        guard !contains(block) else { return }
        count += 1
        update(block, present: true)
    }

    mutating func remove(_ block: Int) {
        guard contains(block) else { return }
        count -= 1
        update(block, present: false)
    }

    /// Sets or clears `block`'s bit, and each summary bit above it whose word
    /// turned non-zero (or zero), stopping at the first level that did not.
    private mutating func update(_ block: Int, present: Bool) {
        let levels = levelCount
        offsets.withUnsafeBufferPointer { offsets in
            words.withUnsafeMutableBufferPointer { words in
                var index = block
                for level in 0..<levels {
                    let word = offsets[level] + index >> 6
                    let before = words[word]
                    let bit: UInt64 = 1 << UInt64(index & 63)
                    words[word] = present ? before | bit : before & ~bit
                    // A summary bit changes only when its word became non-zero, or zero.
                    guard present ? before == 0 : words[word] == 0 else { return }
                    index >>= 6
                }
            }
        }
    }

    /// The lowest block in the set.
    func lowest() -> Int? {
        guard count > 0 else { return nil }
        var level = levelCount - 1
        let top = words[offsets[level]..<offsets[level + 1]]
        guard let first = top.firstIndex(where: { $0 != 0 }) else { return nil }
        var index = (first - offsets[level]) << 6 | words[first].trailingZeroBitCount
        while level > 0 {
            level -= 1
            index = index << 6 | words[offsets[level] + index].trailingZeroBitCount
        }
        return index
    }
}
