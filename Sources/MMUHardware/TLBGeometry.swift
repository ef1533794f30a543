/// Sizes of one core's TLBs and paging-structure caches (SPEC section 5 keys).
public struct TLBGeometry: Hashable, Sendable {
    public var l1dEntries = 64, l1dWays = 4
    public var l1iEntries = 128, l1iWays = 8
    public var l2Entries = 1536, l2Ways = 12
    public var pml4eCacheEntries = 2
    public var pdpteCacheEntries = 4
    public var pdeCacheEntries = 32
    public init() {}

    /// Whether any paging-structure cache is enabled (then every walk pays `cost.walk.psc`).
    public var hasPagingStructureCaches: Bool {
        pml4eCacheEntries > 0 || pdpteCacheEntries > 0 || pdeCacheEntries > 0
    }
}
