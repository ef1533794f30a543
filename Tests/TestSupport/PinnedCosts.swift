import MMUHardware
import MMUKernel

/// Configurations with every cost pinned to a distinct value, so a test's
/// expected cycles follow from the numbers here and not from the defaults.
public enum Pinned {
    /// Each cost key's pinned value: distinct, so a wrong charge shows.
    public static func cost(_ key: CostKey) -> UInt64 {
        switch key {
        case .access: return 1
        case .tlbL1: return 2
        case .tlbL2: return 10
        case .walkPSC: return 3
        case .walkRef: return 50
        case .walkAD: return 7
        case .walkL1D: return 4
        case .walkL2: return 12
        case .walkLLC: return 40
        case .walkDRAM: return 200
        case .faultEntry: return 100
        case .faultExit: return 90
        case .kernelFault: return 400
        case .frameAlloc: return 200
        case .frameZero: return 300
        case .frameCopy: return 600
        case .pteWrite: return 5
        case .invlpg: return 120
        case .tlbFlush: return 900
        case .syscall: return 80
        case .forkPTE: return 11
        case .contextSwitch: return 1000
        case .ipiSend: return 150
        case .ipiLatency: return 700
        case .ipiHandler: return 400
        case .invlpgb: return 60
        case .tlbsync: return 800
        case .thpSplit: return 3000
        case .vmExit: return 1300
        case .vmEntry: return 1100
        case .vmSwitch: return 2500
        case .invept: return 170
        case .ksmPage: return 33
        }
    }

    /// A configuration with pinned costs, small TLBs and the given PSC sizes.
    public static func configuration(cores: Int = 1, frames: Int = 4096, pscEntries: Int = 0) -> Configuration {
        var configuration = Configuration()
        configuration.cores = cores
        configuration.frames = frames
        for key in CostKey.allCases { configuration.costs[key] = cost(key) }
        configuration.geometry.l1dEntries = 16
        configuration.geometry.l1dWays = 4
        configuration.geometry.l1iEntries = 16
        configuration.geometry.l1iWays = 4
        configuration.geometry.l2Entries = 64
        configuration.geometry.l2Ways = 4
        configuration.geometry.pml4eCacheEntries = pscEntries
        configuration.geometry.pdpteCacheEntries = pscEntries
        configuration.geometry.pdeCacheEntries = pscEntries
        return configuration
    }
}

extension System {
    /// A system running one fresh process on core 0 (switched to at the cost of
    /// one `cost.switch`), with `regions` mapped.
    public static func running(_ configuration: Configuration, regions: [(UInt64, UInt64, RegionPermissions)] = []) -> (System, ProcessID) {
        var system = System(configuration: configuration)
        let process = system.createProcess()
        system.contextSwitch(core: CoreID(0), to: process)
        for (address, pages, permissions) in regions {
            system.map(core: CoreID(0), VirtualAddress(address), pages: pages, permissions)
        }
        return (system, process)
    }

    /// Core `c`'s clock.
    public func clock(_ c: Int = 0) -> UInt64 { machine.cores[c].clock }
}
