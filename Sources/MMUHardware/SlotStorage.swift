#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The slots of a `SetAssociativeArray`: a fixed number of plain values in
/// one buffer, with value semantics (copied on write when shared), that holds
/// host memory only for the slots actually filled.
///
/// When a slot that holds nothing is all zero bits (a TLB's, a
/// paging-structure cache's or a page-table line's empty entry, with the
/// replacement state of an empty slot), the buffer comes from `calloc`:
/// for a large buffer the C library maps fresh pages that the operating
/// system fills with zeros on first write, so a 65,536-entry TLB of which a
/// trace fills 100 entries holds a few pages of host memory, not 2 MiB, and
/// grows a page (128 slots of 32 bytes) at a time as entries are filled.
/// Reads of never-written slots find zeros without taking memory. Other
/// empty values are written out in full.
@usableFromInline struct SlotStorage<Element: BitwiseCopyable>: @unchecked Sendable {
    @usableFromInline final class Buffer {
        @usableFromInline let base: UnsafeMutablePointer<Element>
        @usableFromInline let count: Int
        /// Whether an empty slot is all zero bytes (then never-written pages
        /// are left to the operating system to zero).
        let zeroed: Bool
        /// What `calloc` returned, when `base` came from it (else `base`
        /// came from `allocate`).
        let callocated: UnsafeMutableRawPointer?

        /// Slots start on a cache line (64 bytes), so a set of 4 TLB entries
        /// or 16 page-table lines spans as few host cache lines as it can.
        static var lineBytes: Int { 64 }

        /// Zeroed memory for `capacity` slots from `calloc`, its first slot on
        /// a cache line; nil if the host has none.
        static func zeroedSlots(_ capacity: Int) -> (raw: UnsafeMutableRawPointer, base: UnsafeMutablePointer<Element>)? {
            guard let raw = calloc(1, capacity &* MemoryLayout<Element>.stride &+ lineBytes) else { return nil }
            let address = UInt(bitPattern: raw)
            let aligned = (address &+ UInt(lineBytes - 1)) & ~UInt(lineBytes - 1)
            let base = (raw + Int(aligned &- address)).bindMemory(to: Element.self, capacity: capacity)
            return (raw, base)
        }

        /// `count` slots of `empty`. Out of host memory, the allocation traps
        /// as an array's would.
        init(count: Int, empty: Element?, emptyIsZeroBits: Bool) {
            zeroed = emptyIsZeroBits
            self.count = count
            let capacity = max(count, 1)
            if zeroed, let slots = Self.zeroedSlots(capacity) {
                base = slots.base
                callocated = slots.raw
            } else {
                base = .allocate(capacity: capacity)
                if let empty { base.initialize(repeating: empty, count: count) }
                callocated = nil
            }
        }

        /// A copy of `other`'s slots (a shared buffer's first write): for
        /// zeroed slots, page by page, skipping pages of zeros, so the copy
        /// holds memory for the filled slots only, as the original does.
        init(copying other: Buffer) {
            count = other.count
            zeroed = other.zeroed
            let capacity = max(count, 1)
            if zeroed, let slots = Self.zeroedSlots(capacity) {
                base = slots.base
                callocated = slots.raw
                let size = count &* MemoryLayout<Element>.stride
                let to = UnsafeMutableRawPointer(base), from = UnsafeRawPointer(other.base)
                var offset = 0
                while offset < size {
                    let length = min(4096, size - offset)
                    if !UnsafeRawBufferPointer(start: from + offset, count: length).allSatisfy({ $0 == 0 }) {
                        (to + offset).copyMemory(from: from + offset, byteCount: length)
                    }
                    offset += length
                }
            } else {
                base = .allocate(capacity: capacity)
                base.initialize(from: other.base, count: count)
                callocated = nil
            }
        }

        deinit {
            if let callocated { free(callocated) } else { base.deallocate() }
        }
    }

    /// Owns the slots (shared between copies until one writes).
    @usableFromInline var buffer: Buffer
    /// `buffer.base` and `buffer.count`, kept beside it so a slot is one load
    /// away, as an array's element is.
    @usableFromInline var base: UnsafeMutablePointer<Element>
    @usableFromInline let count: Int

    /// No slots (the state before an array's first fill).
    init() { self.init(Buffer(count: 0, empty: nil, emptyIsZeroBits: true)) }

    /// `count` slots holding `empty`, which is all zero bits when
    /// `emptyIsZeroBits` says so.
    init(count: Int, empty: Element, emptyIsZeroBits: Bool) {
        self.init(Buffer(count: count, empty: empty, emptyIsZeroBits: emptyIsZeroBits))
    }

    private init(_ buffer: Buffer) {
        self.buffer = buffer
        base = buffer.base
        count = buffer.count
    }

    @inline(__always) var isEmpty: Bool { count == 0 }

    @inline(__always) mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&buffer) {
            buffer = Buffer(copying: buffer)
            base = buffer.base
        }
    }

    @inline(__always) subscript(index: Int) -> Element {
        unsafeAddress {
            guard UInt(bitPattern: index) < UInt(bitPattern: count) else { preconditionFailure("slot out of range") }
            return UnsafePointer(base + index)
        }
        _modify {
            makeUnique()
            guard UInt(bitPattern: index) < UInt(bitPattern: count) else { preconditionFailure("slot out of range") }
            yield &base[index]
        }
    }

    @inline(__always) func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Element>) throws -> R) rethrows -> R {
        try withExtendedLifetime(buffer) { try body(UnsafeBufferPointer(start: base, count: count)) }
    }

    @inline(__always) mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (UnsafeMutableBufferPointer<Element>) throws -> R) rethrows -> R {
        makeUnique()
        return try withExtendedLifetime(buffer) { try body(UnsafeMutableBufferPointer(start: base, count: count)) }
    }
}
