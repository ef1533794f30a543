/// Sizes of one core's TLBs and paging-structure caches (keys of docs/reference/configuration.md).
public struct TLBGeometry: Hashable, Sendable {
    public var l1dEntries = 64          // [IntelOpt] Table 2-15: DTLB, 4 KiB pages, 64 entries
    public var l1dWays = 4              // [IntelOpt] Table 2-15: DTLB 4-way
    public var l1iEntries = 128         // [IntelOpt] Table 2-15: ITLB, 4 KiB pages, 128 entries
    public var l1iWays = 8              // [IntelOpt] Table 2-15: ITLB 8-way
    public var l2Entries = 1536         // [IntelOpt] Table 2-15: STLB (4 KiB + 2 MiB), 1536 entries
    public var l2Ways = 12              // [IntelOpt] Table 2-15: STLB 12-way (CPUID leaf 2 reports 6-way; manual wins)
    public var l1d2MEntries = 32        // [IntelOpt] Table 2-15: DTLB, 2/4 MiB pages, 32 entries
    public var l1d2MWays = 4            // [IntelOpt] Table 2-15: 4-way
    public var l1d1GEntries = 4         // [IntelOpt] Table 2-15: DTLB, 1 GiB pages, 4 entries
    public var l1d1GWays = 4            // [IntelOpt] Table 2-15: 4-way (fully associative)
    public var l1i2MEntries = 8         // [IntelOpt] Table 2-15: ITLB, 2/4 MiB pages, 8 entries per thread
    public var l1i2MWays = 8            // [IntelOpt] Table 2-15: fully associative
    public var l2OneGEntries = 16       // [IntelOpt] Table 2-15: STLB, 1 GiB pages, 16 entries
    public var l2OneGWays = 4           // [IntelOpt] Table 2-15: 4-way
    public var pml5eCacheEntries = 0    // mmusim choice: no PML5E cache size is published; off unless set
    public var pml4eCacheEntries = 2    // [Bhattacharjee13] Intel PML4E cache, 2 entries (sizes not published by Intel; see doc)
    public var pdpteCacheEntries = 4    // [Bhattacharjee13] Intel PDPTE cache, 4 entries (not verified in this pass; see doc)
    public var pdeCacheEntries = 32     // [Bhattacharjee13] Intel PDE cache, 32 entries (not verified in this pass; see doc)
    /// The nested TLB (guest-physical to host-physical, tagged by VM) and the
    /// nested paging-structure caches, used only by guests' two-dimensional walks.
    public var nestedTLBEntries = 16      // [Bhargava08] nested TLB of 16 entries in their AMD Barcelona model
    public var nestedTLBWays = 16         // [Bhargava08] fully associative
    public var nestedPML5ECacheEntries = 0   // as pml5eCacheEntries
    public var nestedPML4ECacheEntries = 2   // as pml4eCacheEntries
    public var nestedPDPTECacheEntries = 4   // as pdpteCacheEntries
    public var nestedPDECacheEntries = 32    // as pdeCacheEntries
    /// Page-table lines the walker finds in each cache level (the share of
    /// L1D, L2 and LLC that page-table lines hold; see docs/cost-model.md).
    public var pageTableLinesL1D = 64
    public var pageTableLinesL2 = 2048
    public var pageTableLinesLLC = 16384
    public init() {}

    /// Whether any paging-structure cache is enabled (then every walk pays `cost.walk.psc`).
    public var hasPagingStructureCaches: Bool {
        pml5eCacheEntries > 0 || pml4eCacheEntries > 0 || pdpteCacheEntries > 0 || pdeCacheEntries > 0
    }

    /// Whether any nested paging-structure cache is enabled (then every nested walk pays `cost.walk.psc`).
    public var hasNestedPagingStructureCaches: Bool {
        nestedPML5ECacheEntries > 0 || nestedPML4ECacheEntries > 0 || nestedPDPTECacheEntries > 0
            || nestedPDECacheEntries > 0
    }
}
