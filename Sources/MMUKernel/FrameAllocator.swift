import MMUHardware

/// What a physical frame is used for.
public enum FrameUse: UInt8, Sendable {
    case free
    /// Mapped by one or more processes (reference-counted).
    case data
    case pageTable
    /// Unmapped or freed, waiting for a deferred invalidation before reuse.
    case pending
    /// Frame 0: the shared zero page, reserved whether or not it is used.
    case zeroPage
}

/// The kernel's pool of physical frames (Linux's buddy allocator, reduced to a
/// stack): the most recently freed frame is handed out first, otherwise the
/// lowest frame never used. Tracks each frame's use and, for data frames, its
/// reference count (Linux's `page->_mapcount`).
public struct FrameAllocator: Sendable {
    public let frameCount: Int
    private var use: [FrameUse]
    private var references: [UInt32]
    private var freed: [FrameNumber] = []
    private var neverUsed: UInt64 = 1

    public private(set) var freeFrames: Int
    public private(set) var dataFrames = 0
    public private(set) var pageTableFrames = 0
    public private(set) var pendingFrames = 0

    public init(frameCount: Int) {
        self.frameCount = frameCount
        use = [FrameUse](repeating: .free, count: frameCount)
        references = [UInt32](repeating: 0, count: frameCount)
        if frameCount > 0 { use[0] = .zeroPage }
        freeFrames = max(0, frameCount - 1)
    }

    /// Takes a free frame for `purpose` (`.data` or `.pageTable`); nil when none is left.
    public mutating func allocate(_ purpose: FrameUse) -> FrameNumber? {
        let frame: FrameNumber
        if let reused = freed.popLast() {
            frame = reused
        } else if neverUsed < UInt64(frameCount) {
            frame = FrameNumber(neverUsed)
            neverUsed += 1
        } else {
            return nil
        }
        freeFrames -= 1
        use[frame.index] = purpose
        switch purpose {
        case .data: dataFrames += 1; references[frame.index] = 1
        case .pageTable: pageTableFrames += 1
        default: break
        }
        return frame
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

    /// Returns an unreferenced data frame or a page-table frame to the pool.
    public mutating func free(_ frame: FrameNumber) {
        switch use(of: frame) {
        case .data: dataFrames -= 1
        case .pageTable: pageTableFrames -= 1
        case .pending: pendingFrames -= 1
        case .free, .zeroPage: return
        }
        use[frame.index] = .free
        references[frame.index] = 0
        freed.append(frame)
        freeFrames += 1
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
}
