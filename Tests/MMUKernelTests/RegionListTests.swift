import MMUHardware
@testable import MMUKernel
import Testing
import TestSupport

/// The flat list `RegionList` used to be: every operation a scan of every region.
/// The reference the chunked list must agree with, operation by operation.
private struct FlatRegions {
    var regions: [Region] = []

    func overlaps(_ pages: Range<VirtualPageNumber>) -> Bool { regions.contains { $0.overlaps(pages) } }

    mutating func insert(_ region: Region) {
        regions.insert(region, at: regions.firstIndex { $0.firstPage > region.firstPage } ?? regions.count)
    }

    mutating func remove(_ pages: Range<VirtualPageNumber>) {
        var result: [Region] = []
        for region in regions {
            guard region.overlaps(pages) else { result.append(region); continue }
            if region.firstPage < pages.lowerBound { result.append(region.part(region.firstPage..<pages.lowerBound)) }
            if region.endPage > pages.upperBound { result.append(region.part(pages.upperBound..<region.endPage)) }
        }
        regions = result
    }

    mutating func change(_ pages: Range<VirtualPageNumber>, _ body: (inout Region) -> Void) {
        let pieces = regions.filter { $0.overlaps(pages) }
        remove(pages)
        for piece in pieces {
            var part = piece.part(piece.pages.clamped(to: pages))
            body(&part)
            insert(part)
        }
    }
}

private func pages(_ first: UInt64, _ count: UInt64) -> Range<VirtualPageNumber> {
    VirtualPageNumber(first)..<VirtualPageNumber(first + count)
}

@Suite("RegionList")
struct RegionListTests {
    @Test("random inserts, removals, protections and advice give the same regions as a flat list")
    func agreesWithFlatList() {
        var random = SeededRandom(seed: 16)
        var list = RegionList(), flat = FlatRegions()
        for step in 0..<6_000 {
            let first = UInt64.random(in: 0..<4_000, using: &random), count = UInt64.random(in: 1...40, using: &random)
            let range = pages(first, count)
            switch UInt64.random(in: 0..<5, using: &random) {
            case 0, 1:
                #expect(list.overlaps(range) == flat.overlaps(range))
                if !flat.overlaps(range) {
                    let region = Region(pages: range, permissions: [.read], advice: step % 3 == 0 ? .hugepage : .none)
                    list.insert(region)
                    flat.insert(region)
                }
            case 2:
                list.remove(range)
                flat.remove(range)
            case 3:
                list.setPermissions(range, [.read, .write])
                flat.change(range) { $0.permissions = [.read, .write] }
            default:
                list.setAdvice(range, .nohugepage)
                flat.change(range) { $0.advice = .nohugepage }
            }
            #expect(list.regions == flat.regions, "after step \(step)")
            let probe = VirtualPageNumber(UInt64.random(in: 0..<4_100, using: &random))
            #expect(list.region(containing: probe) == flat.regions.first { $0.contains(probe) })
        }
    }

    @Test("200,000 regions inserted in descending order and removed one by one cost a bounded amount each")
    func scalesToHundredsOfThousands() {
        let count: UInt64 = 200_000
        var list = RegionList()
        for index in (0..<count).reversed() {
            list.insert(Region(pages: pages(index * 2, 1), permissions: [.read]))
        }
        #expect(list.count == Int(count))
        #expect(list.region(containing: VirtualPageNumber(123_456))?.firstPage == VirtualPageNumber(123_456))
        #expect(list.region(containing: VirtualPageNumber(123_457)) == nil)
        // A flat array moves every later region on each insert: about
        // count^2 / 2 = 2 * 10^10 moves here. The chunked list moves at most
        // a chunk (plus the chunk index on a split) and probes log n.
        let perOperation = RegionList.chunkCapacity + 2 * 64
        #expect(list.work < Int(count) * perOperation, "\(list.work) units of work for \(count) inserts")

        let before = list.work
        list.setPermissions(pages(0, count * 2), [.read, .write])
        #expect(list.regions.allSatisfy { $0.permissions == [.read, .write] })
        for index in stride(from: 0, to: count, by: 2) { list.remove(pages(index * 2, 1)) }
        #expect(list.count == Int(count / 2))
        list.remove(pages(0, count * 2))
        #expect(list.count == 0 && !list.overlaps(pages(0, count * 2)))
        #expect(list.work - before < Int(count) * 2 * perOperation, "\(list.work - before) units of work to protect and remove")
    }

    @Test("lists that hold the same regions are equal however they were built")
    func equalityIgnoresChunking() {
        var ascending = RegionList(), descending = RegionList()
        for index in 0..<1_000 as Range<UInt64> { ascending.insert(Region(pages: pages(index * 4, 2), permissions: [.read])) }
        for index in (0..<1_000 as Range<UInt64>).reversed() { descending.insert(Region(pages: pages(index * 4, 2), permissions: [.read])) }
        #expect(ascending == descending)
        #expect(ascending.hashValue == descending.hashValue)
        descending.remove(pages(8, 1))
        #expect(ascending != descending)
    }
}
