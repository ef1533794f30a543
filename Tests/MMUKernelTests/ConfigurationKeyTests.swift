import Testing
import MMUHardware
import MMUKernel

/// The ranges every integer key had before the declarations existed, written
/// out here so that a change to a declaration's range shows as a failure.
private let integerRanges: [String: (low: Int, high: Int)] = {
    var ranges: [String: (low: Int, high: Int)] = [
        "cores": (1, 1024), "frames": (2, 67_108_864), "flush_ceiling": (0, 1_048_576),
        "tlb.l1d.entries": (1, 65_536), "tlb.l1d.ways": (1, 65_536),
        "tlb.l1i.entries": (1, 65_536), "tlb.l1i.ways": (1, 65_536),
        "tlb.l2.entries": (0, 65_536), "tlb.l2.ways": (1, 65_536),
        "psc.pml4e": (0, 4096), "psc.pdpte": (0, 4096), "psc.pde": (0, 4096),
        "ptcache.l1d.lines": (0, 65_536), "ptcache.l2.lines": (0, 65_536), "ptcache.llc.lines": (0, 65_536),
    ]
    for key in CostKey.allCases { ranges[key.name] = (0, 1_000_000_000) }
    return ranges
}()

private let integerKeys = Configuration.keys.filter { integerRanges[$0] != nil }

private func message(_ body: () throws(ConfigurationError) -> Void) -> ConfigurationError? {
    do throws(ConfigurationError) {
        try body()
        return nil
    } catch {
        return error
    }
}

/// Every key set to a valid value that differs from its default.
private func everyKeyChanged() throws -> Configuration {
    var configuration = Configuration()
    for key in Configuration.declarations {
        let value: String
        switch key.type {
        case .integer(let range):
            let current = Int(configuration.value(of: key.name) ?? "")
            value = String(current == range.upperBound ? range.lowerBound : range.upperBound)
        case .flag:
            value = configuration.value(of: key.name) == "on" ? "off" : "on"
        case .choice(let names):
            value = try #require(names.first { $0 != configuration.value(of: key.name) })
        }
        try configuration.set(key.name, value)
    }
    return configuration
}

@Suite("Configuration keys")
struct ConfigurationKeyTests {
    @Test("the declarations list the keys in the order reports and configuration files always used")
    func declarationOrder() {
        let expected = ["cores", "frames", "pcid", "zero_page", "fork", "shootdown", "flush_ceiling", "paging.levels", "ept.levels", "vm.ipi", "thp",
                        "tlb.l1d.entries", "tlb.l1d.ways", "tlb.l1i.entries", "tlb.l1i.ways",
                        "tlb.l2.entries", "tlb.l2.ways",
                        "tlb.l1d.2m.entries", "tlb.l1d.2m.ways", "tlb.l1d.1g.entries", "tlb.l1d.1g.ways",
                        "tlb.l1i.2m.entries", "tlb.l1i.2m.ways", "tlb.l2.1g.entries", "tlb.l2.1g.ways",
                        "psc.pml5e", "psc.pml4e", "psc.pdpte", "psc.pde",
                        "tlb.nested.entries", "tlb.nested.ways",
                        "psc.nested.pml5e", "psc.nested.pml4e", "psc.nested.pdpte", "psc.nested.pde",
                        "ptcache.l1d.lines", "ptcache.l2.lines", "ptcache.llc.lines"]
            + CostKey.allCases.map(\.name)
        #expect(Configuration.declarations.map(\.name) == expected)
        #expect(Configuration.keys == expected)
        #expect(Set(expected).count == expected.count)
    }

    @Test("each key is found by its exact name and by no other spelling", arguments: Configuration.keys)
    func lookup(_ name: String) throws {
        #expect(try #require(ConfigurationKey.named(name)).name == name)
        #expect(ConfigurationKey.named(name.uppercased()) == nil)
        #expect(ConfigurationKey.named(name + " ") == nil)
    }

    @Test("every key's value set back into the configuration leaves it equal", arguments: Configuration.keys)
    func roundTrip(_ name: String) throws {
        var flat = Configuration()
        try flat.set("cost.walk.ref", "7")
        var starts = [Configuration(), flat, try everyKeyChanged()] + (try CPUPreset.all.map { try $0.apply(to: Configuration()) })
        // `model` is a reading, not a value (walkReferenceModel checks that it is refused).
        starts.removeAll { $0.value(of: name) == "model" }
        #expect(starts.count >= 2)
        for start in starts {
            var copy = start
            try copy.set(name, try #require(start.value(of: name)))
            #expect(copy == start, "\(name) = \(start.value(of: name) ?? "nil")")
        }
    }

    @Test("a key that is set reads back in canonical form", arguments: Configuration.keys)
    func setThenRead(_ name: String) throws {
        var configuration = Configuration()
        let key = try #require(ConfigurationKey.named(name))
        switch key.type {
        case .integer(let range):
            try configuration.set(name, "0x" + String(range.upperBound, radix: 16))
            #expect(configuration.value(of: name) == String(range.upperBound))
        case .flag:
            try configuration.set(name, "off")
            #expect(configuration.value(of: name) == "off")
            try configuration.set(name, "on")
            #expect(configuration.value(of: name) == "on")
        case .choice(let names):
            for choice in names {
                try configuration.set(name, choice)
                #expect(configuration.value(of: name) == choice)
            }
        }
    }

    @Test("every integer key takes exactly its range", arguments: integerKeys)
    func integerRange(_ name: String) throws {
        let (low, high) = try #require(integerRanges[name])
        let key = try #require(ConfigurationKey.named(name))
        #expect(key.type == .integer(low...high))
        var configuration = Configuration()
        try configuration.set(name, String(low))
        #expect(configuration.value(of: name) == String(low))
        try configuration.set(name, String(high))
        #expect(configuration.value(of: name) == String(high))
        let above = message { () throws(ConfigurationError) in try configuration.set(name, String(high + 1)) }
        #expect(above == ConfigurationError("\(name) \(high + 1) is out of range (\(low) to \(high))", part: .value))
        if low > 0 {
            let below = message { () throws(ConfigurationError) in try configuration.set(name, String(low - 1)) }
            #expect(below == ConfigurationError("\(name) \(low - 1) is out of range (\(low) to \(high))", part: .value))
        }
        #expect(configuration.value(of: name) == String(high), "a refused value changed the configuration")
    }

    @Test("every integer key refuses what is not a number, naming its range", arguments: integerKeys)
    func integerMalformed(_ name: String) throws {
        let (low, high) = try #require(integerRanges[name])
        for text in ["bogus", "", "-1", "1.5", "0x", "0xg", " 1", "18446744073709551616", "model"] {
            var configuration = Configuration()
            let error = message { () throws(ConfigurationError) in try configuration.set(name, text) }
            #expect(error == ConfigurationError("'\(text)' is not a number (\(name) takes \(low) to \(high))", part: .value))
            #expect(configuration == Configuration())
        }
    }

    @Test("flags take only on and off")
    func flags() {
        for name in ["pcid", "zero_page"] {
            for text in ["yes", "On", "1", ""] {
                var configuration = Configuration()
                let error = message { () throws(ConfigurationError) in try configuration.set(name, text) }
                #expect(error == ConfigurationError("\(name) takes on or off, not '\(text)'", part: .value))
            }
        }
        #expect(Configuration.declarations.filter { $0.type == .flag }.map(\.name) == ["pcid", "zero_page"])
    }

    @Test("choices take only their names, listed in the message")
    func choices() {
        var configuration = Configuration()
        let fork = message { () throws(ConfigurationError) in try configuration.set("fork", "lazy") }
        #expect(fork == ConfigurationError("fork takes one of cow, copy, not 'lazy'", part: .value))
        let shootdown = message { () throws(ConfigurationError) in try configuration.set("shootdown", "IPI") }
        #expect(shootdown == ConfigurationError("shootdown takes one of ipi, broadcast, deferred, not 'IPI'", part: .value))
        #expect(ConfigurationKey.named("shootdown")?.type == .choice(["ipi", "broadcast", "deferred"]))
    }

    @Test("an unknown key is refused with the key at fault")
    func unknownKey() {
        var configuration = Configuration()
        for name in ["TLB.L1D.ENTRIES", "", "cost", "cost.walk", "tlb.l3.entries"] {
            let error = message { () throws(ConfigurationError) in try configuration.set(name, "1") }
            #expect(error == ConfigurationError("unknown configuration key '\(name)'", part: .key))
            #expect(configuration.value(of: name) == nil)
        }
    }

    @Test("cost.walk.ref reads model until it is set, and only setting it makes walks flat")
    func walkReferenceModel() throws {
        var configuration = Configuration()
        #expect(configuration.value(of: "cost.walk.ref") == "model")
        #expect(ConfigurationKey.named("cost.walk.ref")?.defaultValue == "model")
        for key in CostKey.allCases where key != .walkRef { try configuration.set(key.name, "3") }
        #expect(!configuration.costs.flatWalkReference)
        #expect(configuration.value(of: "cost.walk.ref") == "model")
        try configuration.set("cost.walk.ref", "6")
        #expect(configuration.costs.flatWalkReference)
        #expect(configuration.costs[.walkRef] == 6)
        #expect(configuration.value(of: "cost.walk.ref") == "6")
        #expect(configuration != Configuration())
        let model = message { () throws(ConfigurationError) in try configuration.set("cost.walk.ref", "model") }
        #expect(model == ConfigurationError("'model' is not a number (cost.walk.ref takes 0 to 1000000000)", part: .value))
    }

    @Test("each key's default is the value a fresh configuration holds")
    func defaultsComeFromConfiguration() {
        let fresh = Configuration()
        for key in Configuration.declarations {
            #expect(key.defaultValue == fresh.value(of: key.name), "\(key.name)")
        }
        #expect(ConfigurationKey.named("frames")?.defaultValue == "262144")
        #expect(ConfigurationKey.named("cost.invlpg")?.defaultValue == "260")
        #expect(ConfigurationKey.named("shootdown")?.defaultValue == "ipi")
    }

    @Test("every key says what it sets, in what unit, and where its default comes from")
    func descriptions() {
        let units: Set = ["cores", "frames", "entries", "ways", "lines", "pages", "cycles", "levels"]
        for key in Configuration.declarations {
            #expect(key.meaning.first?.isUppercase == true && key.meaning.hasSuffix("."), "\(key.name): \(key.meaning)")
            #expect(!key.source.isEmpty, "\(key.name)")
            if case .integer = key.type {
                #expect(units.contains(key.unit), "\(key.name): '\(key.unit)'")
            } else {
                #expect(key.unit.isEmpty, "\(key.name): '\(key.unit)'")
            }
            #expect(key.name.hasPrefix("cost.") == (key.unit == "cycles"), "\(key.name)")
        }
    }

    @Test("a TLB whose ways do not divide its entries is refused as a whole, with the same message")
    func validation() throws {
        var configuration = Configuration()
        try configuration.set("tlb.l2.ways", "5")
        let error = message { () throws(ConfigurationError) in try configuration.validate() }
        #expect(error == ConfigurationError("tlb.l2.ways (5) must divide tlb.l2.entries (1536)", part: .value))
        try configuration.set("tlb.l2.entries", "0")
        #expect(message { () throws(ConfigurationError) in try configuration.validate() } == nil)
        try configuration.set("tlb.l1d.ways", "128")
        let l1 = message { () throws(ConfigurationError) in try configuration.validate() }
        #expect(l1 == ConfigurationError("tlb.l1d.ways (128) must divide tlb.l1d.entries (64)", part: .value))
    }

    @Test("the reference table shows type, unit, default, meaning and source of each key")
    func referenceTableRows() {
        let table = ConfigurationKey.referenceTable()
        #expect(table.hasPrefix("| key | type and range | unit | default | meaning | source |\n"))
        #expect(table.contains("| `cores` | integer, 1 to 1024 | cores | `1` | "))
        #expect(table.contains("| `fork` | one of cow, copy |  | `cow` | "))
        #expect(table.contains("| `cost.walk.ref` | integer, 0 to 1000000000 | cycles | `model` | "))
        #expect(table.split(separator: "\n").count == 2 + Configuration.keys.count)
    }
}
