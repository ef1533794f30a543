import Testing
import MMUHardware
@testable import MMUKernel

@Suite("CPU presets")
struct CPUPresetTests {
    static let names = ["skylake", "icelake", "zen3", "zen4"]

    func preset(_ name: String) throws -> CPUPreset { try #require(CPUPreset.named(name)) }

    func value(_ preset: CPUPreset, _ key: String) -> String? {
        preset.settings.first { $0.key == key }?.value
    }

    @Test("every preset sets every preset key exactly once and no other key", arguments: names)
    func coversEveryKeyOnce(_ name: String) throws {
        let preset = try preset(name)
        let keys = preset.settings.map(\.key)
        #expect(keys.count == Set(keys).count, "a key is set twice")
        #expect(Set(keys) == Set(CPUPreset.presetKeys))
        #expect(keys.count == CPUPreset.presetKeys.count)
        #expect(keys.allSatisfy { !CPUPreset.machineKeys.contains($0) })
        #expect(!keys.contains("cost.walk.ref"))
    }

    @Test("applying a preset to the defaults succeeds and sets every value", arguments: names)
    func appliesAndValidates(_ name: String) throws {
        let preset = try preset(name)
        let configuration = try preset.apply(to: Configuration())
        for (key, expected) in preset.settings {
            #expect(configuration.value(of: key) == expected, "\(name): \(key)")
        }
        // The machine's size and policies are left alone.
        let base = Configuration()
        for key in CPUPreset.machineKeys {
            #expect(configuration.value(of: key) == base.value(of: key), "\(name) changed \(key)")
        }
        #expect(!configuration.costs.flatWalkReference)
        #expect(preset.gigahertz > 1 && preset.gigahertz < 6)
    }

    @Test("every TLB's ways divide its entries", arguments: names)
    func waysDivideEntries(_ name: String) throws {
        let geometry = try preset(name).apply(to: Configuration()).geometry
        for (entries, ways) in [(geometry.l1dEntries, geometry.l1dWays), (geometry.l1iEntries, geometry.l1iWays),
                                (geometry.l2Entries, geometry.l2Ways)] {
            #expect(ways >= 1 && ways <= entries && entries % ways == 0, "\(name): \(entries) entries, \(ways) ways")
        }
    }

    @Test("CPUPreset.named finds each preset, and nothing else", arguments: names)
    func findsByName(_ name: String) throws {
        #expect(try preset(name).name == name)
        #expect(CPUPreset.all.filter { $0.name == name }.count == 1)
    }

    @Test("the preset list is exactly the four presets")
    func list() {
        #expect(CPUPreset.all.map(\.name) == Self.names)
        #expect(CPUPreset.named("pentium") == nil)
    }

    @Test("skylake is exactly the defaults")
    func skylakeIsTheDefaults() throws {
        let skylake = try preset("skylake")
        let defaults = Configuration()
        for (key, value) in skylake.settings {
            #expect(defaults.value(of: key) == value, "skylake \(key) differs from the default")
        }
        #expect(skylake.gigahertz == 3.0)
    }

    @Test("the presets differ where the hardware differs")
    func hardwareDifferences() throws {
        let skylake = try preset("skylake").apply(to: Configuration())
        let icelake = try preset("icelake").apply(to: Configuration())
        let zen3 = try preset("zen3").apply(to: Configuration())
        let zen4 = try preset("zen4").apply(to: Configuration())

        // Intel L1 DTLBs are 4-way; AMD's are fully associative.
        #expect(skylake.geometry.l1dWays == 4 && icelake.geometry.l1dWays == 4)
        #expect(zen3.geometry.l1dEntries == 64 && zen3.geometry.l1dWays == zen3.geometry.l1dEntries)
        #expect(zen3.geometry.l1iEntries == 64 && zen3.geometry.l1iWays == zen3.geometry.l1iEntries)
        #expect(zen4.geometry.l1dEntries == 72 && zen4.geometry.l1dWays == 72)
        #expect(zen4.geometry.l1iWays == zen4.geometry.l1iEntries)

        // Second-level TLBs: Skylake 1536 x 12, Ice Lake 2048 x 16, Zen 3 2048, Zen 4 3072 x 24.
        #expect(skylake.geometry.l2Entries == 1536 && skylake.geometry.l2Ways == 12)
        #expect(icelake.geometry.l2Entries == 2048 && icelake.geometry.l2Ways == 16)
        #expect(zen3.geometry.l2Entries == 2048)
        #expect(zen4.geometry.l2Entries == 3072 && zen4.geometry.l2Ways == 24)

        // Larger caches give page-table lines more room.
        #expect(icelake.geometry.pageTableLinesL1D > skylake.geometry.pageTableLinesL1D)
        #expect(icelake.geometry.pageTableLinesL2 > skylake.geometry.pageTableLinesL2)
        #expect(zen4.geometry.pageTableLinesL2 == 2 * zen3.geometry.pageTableLinesL2)

        // Latencies: Sunny Cove's larger L1D is a cycle slower; its STLB hit is cheaper.
        #expect(icelake.costs[.access] == skylake.costs[.access] + 1)
        #expect(icelake.costs[.tlbL2] < skylake.costs[.tlbL2])
        #expect(zen4.costs[.walkL2] > zen3.costs[.walkL2])
        #expect(zen4.costs[.walkLLC] > zen3.costs[.walkLLC])

        // Figures bound by DRAM keep their nanoseconds, so a faster clock costs more cycles.
        #expect(zen4.costs[.frameZero] > zen3.costs[.frameZero])
        #expect(zen3.costs[.frameZero] > skylake.costs[.frameZero])
        #expect(zen4.costs[.walkDRAM] > zen3.costs[.walkDRAM])

        // AMD's page-directory cache is larger than Intel's (unpublished) PML4E/PDPTE caches.
        #expect(zen3.geometry.pml4eCacheEntries > skylake.geometry.pml4eCacheEntries)
        #expect(zen4.geometry.pdpteCacheEntries > skylake.geometry.pdpteCacheEntries)
    }

    @Test("no two presets are the same")
    func allDistinct() {
        let rendered = CPUPreset.all.map { $0.settings.map { "\($0.key)=\($0.value)" }.joined(separator: ",") }
        #expect(Set(rendered).count == CPUPreset.all.count)
    }
}
