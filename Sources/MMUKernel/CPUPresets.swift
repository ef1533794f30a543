/// The presets `--cpu` offers. Every value is cited in docs/cost-model.md
/// (section "Presets"); the tags in the comments name the sources there.
///
/// Conversion rules used where a figure was not measured on the preset's own
/// microarchitecture (docs/cost-model.md, "Presets: derivation rules"):
/// - "same cycles": a latency inside the core (exception delivery, microcode,
///   kernel code paths) keeps the Skylake figure in cycles;
/// - "same ns": a figure bound by DRAM or the interconnect keeps the Skylake
///   figure in nanoseconds, i.e. round(skylake cycles x gigahertz / 3.0);
/// - ptcache lines: 1/8 of the L1D, 1/2 of the L2 and 1/2 of the core's share
///   of the LLC, the fractions the Skylake defaults give;
/// - one L1 array, all sizes (AMD): an L1 TLB that holds every page size in one
///   fully associative array gets that array's full size for each page-size
///   array (4 KiB, 2 MiB, 1 GiB), as CPUID enumerates it per size.
extension CPUPreset {
    public static let all: [CPUPreset] = [skylake, icelake, zen3, zen4]

    /// Intel Skylake (client/server core, 2015) at 3.0 GHz: exactly the defaults
    /// of `TLBGeometry` and `CostModel.defaultCycles`.
    public static let skylake = CPUPreset(
        name: "skylake", summary: "Intel Skylake core (the defaults)", gigahertz: 3.0,
        settings: [
            ("tlb.l1d.entries", "64"),       // [IntelOpt] T2-15: DTLB 4 KiB, 64 entries
            ("tlb.l1d.ways", "4"),           // [IntelOpt] T2-15: 4-way
            ("tlb.l1i.entries", "128"),      // [IntelOpt] T2-15: ITLB 4 KiB, 128 entries
            ("tlb.l1i.ways", "8"),           // [IntelOpt] T2-15; [WikiChip]: 8-way
            ("tlb.l2.entries", "1536"),      // [IntelOpt] T2-15: STLB 4 KiB + 2 MiB, 1536 entries
            ("tlb.l2.ways", "12"),           // [IntelOpt] T2-15: 12-way
            ("tlb.l1d.2m.entries", "32"),    // [IntelOpt] T2-15: DTLB 2/4 MiB, 32 entries
            ("tlb.l1d.2m.ways", "4"),        // [IntelOpt] T2-15: 4-way
            ("tlb.l1d.1g.entries", "4"),     // [IntelOpt] T2-15: DTLB 1 GiB, 4 entries
            ("tlb.l1d.1g.ways", "4"),        // [IntelOpt] T2-15: 4-way (fully associative)
            ("tlb.l1i.2m.entries", "8"),     // [IntelOpt] T2-15: ITLB 2/4 MiB, 8 entries per thread
            ("tlb.l1i.2m.ways", "8"),        // [IntelOpt] T2-15: fully associative
            ("tlb.l2.1g.entries", "16"),     // [IntelOpt] T2-15: STLB 1 GiB, 16 entries
            ("tlb.l2.1g.ways", "4"),         // [IntelOpt] T2-15: 4-way
            ("psc.pml5e", "0"),             // no PML5E cache: Skylake has no five-level paging [SDM3A]
            ("psc.pml4e", "2"),              // [Bhattacharjee13] (not verified; Intel publishes no PSC sizes)
            ("psc.pdpte", "4"),              // [Bhattacharjee13] (not verified)
            ("psc.pde", "32"),               // [Bhattacharjee13] (not verified)
            ("ptcache.l1d.lines", "64"),     // rule: 1/8 of a 32 KiB L1D (512 lines)
            ("ptcache.l2.lines", "2048"),    // rule: 1/2 of a 256 KiB client L2 (4096 lines)
            ("ptcache.llc.lines", "16384"),  // rule: 1/2 of a 2 MiB/core client LLC slice (32768 lines)
            ("cost.access", "4"),            // [IntelOpt] L1D load-to-use 4 cycles (DTLB hit included)
            ("cost.tlb.l1", "0"),            // [IntelOpt] L1 TLB probed in parallel with L1D
            ("cost.tlb.l2", "9"),            // [TMA] SKL 3.31 and SKX 4.8: Mem_STLB_Hit_Cost = 9
            ("cost.walk.psc", "2"),          // [PCWatch13] ~8-cycle PTE-only walk minus one reference
            ("cost.walk.ad", "9"),           // [TMA-ICX] 4.8 (SKX as ICX): Avg_Assist_Cost 34 slots / 4 wide = 8.5
            ("cost.walk.l1d", "5"),          // [IntelOpt] L1D 4-5 cycles, one walker step
            ("cost.walk.l2", "14"),          // [IntelOpt] L2 12 (client) to 14 (server) cycles
            ("cost.walk.llc", "50"),         // [IntelOpt] L3 ~44 (client) to ~60-70 (server) cycles
            ("cost.walk.dram", "250"),       // [IntelOpt][TMA] ~80 ns local DRAM at 3 GHz
            ("cost.fault.entry", "770"),     // [Shan19][DF25] #PF delivery ~450 + state save ~320
            ("cost.fault.exit", "320"),      // [DF25][Shan19] restore ~60 + IRET ~260
            ("cost.kernel.fault", "460"),    // [DF25] VMA lookup 158 + handling 308, less the PTE store
            ("cost.frame.alloc", "250"),     // [Brouer16][Brouer23] order-0 alloc+free 143-272 cycles
            ("cost.frame.zero", "1300"),     // [Arora22] 4 KiB at 9.4 GB/s = 434 ns at 3 GHz (cold)
            ("cost.frame.copy", "2600"),     // [Arora22] derived: twice the traffic of a zero
            ("cost.pte.write", "5"),         // [IntelOpt] one store to a cache-hot PTE line
            ("cost.invlpg", "260"),          // [Molnar15] __flush_tlb_one 260 cycles
            ("cost.tlb.flush", "100"),       // [Molnar15] __flush_tlb (CR3 reload) 96 cycles
            ("cost.syscall", "300"),         // estimate, bounded by [DF25]
            ("cost.fork.pte", "100"),        // estimate: 3 locked RMWs [uopsinfo] + an L3 line [IntelOpt]
            ("cost.switch", "3000"),         // estimate: ~1 us direct cost
            ("cost.ipi.send", "250"),        // [IntelForumC2C] derived: line transfer + RMW + ICR write
            ("cost.ipi.latency", "350"),     // [Amit19] derived from a 775 ns one-target shootdown
            ("cost.ipi.handler", "1100"),    // [Shan19][DF25] interrupt entry + exit, priced like #PF
            ("cost.invlpgb", "100"),         // estimate; hypothetical on Intel (no INVLPGB)
            ("cost.tlbsync", "600"),         // estimate [vanRiel25]; hypothetical on Intel
            ("cost.thp.split", "32000"),     // [Calib26]: measured split + copy less the modelled rest (docs/calibration.md)
        ] + intelVirtualization)

    /// Nested structures and VM costs of the Intel presets: the VM exit and
    /// entry split evenly the 1,300-cycle x86 KVM hypercall round trip of
    /// [Dall16]; the rest as docs/cost-model.md ("Virtual machines") says.
    static let intelVirtualization: [(key: String, value: String)] = [
        ("tlb.nested.entries", "16"),    // [Bhargava08] nested TLB of 16 entries (Intel publishes no size)
        ("tlb.nested.ways", "16"),       // [Bhargava08] fully associative
        ("psc.nested.pml5e", "0"),       // as psc.pml5e
        ("psc.nested.pml4e", "2"),       // as psc.pml4e [Bhattacharjee13] (not verified)
        ("psc.nested.pdpte", "4"),       // as psc.pdpte
        ("psc.nested.pde", "32"),        // as psc.pde
        ("cost.vm.exit", "650"),         // [Dall16] x86 KVM hypercall round trip 1,300 cycles, half of it
        ("cost.vm.entry", "650"),        // [Dall16] the other half
        ("cost.vm.switch", "2000"),      // estimate: VMCS switch (VMPTRLD) and guest state load beyond cost.switch
        ("cost.invept", "600"),          // estimate: between INVLPG (260) and a full flush with its refills [SDM3C] 29.4.3
        ("cost.ksm.page", "1500"),       // estimate [Arcangeli09]: a 4 KiB compare and checksum, ~0.5 us
    ]

    /// The AMD presets' VM settings: the round trip of VMRUN to #VMEXIT
    /// measured on EPYC by a KVM developer ([LKMLSVM20]: 1,344-1,376 cycles),
    /// split evenly; nested page-walk caches as the native ones.
    static func amdVirtualization(pageDirectoryCache: String) -> [(key: String, value: String)] {
        [
            ("tlb.nested.entries", "16"),    // [Bhargava08] nested TLB of 16 entries (AMD publishes no size)
            ("tlb.nested.ways", "16"),       // [Bhargava08] fully associative
            ("psc.nested.pml5e", "0"),       // as psc.pml5e
            ("psc.nested.pml4e", pageDirectoryCache),  // as psc.pml4e: AMD's page walk cache serves nested walks too
            ("psc.nested.pdpte", pageDirectoryCache),  // as psc.pdpte
            ("psc.nested.pde", "32"),        // as psc.pde
            ("cost.vm.exit", "680"),         // [LKMLSVM20] VMRUN round trip ~1,360 cycles on EPYC, half of it
            ("cost.vm.entry", "680"),        // [LKMLSVM20] the other half
            ("cost.vm.switch", "2000"),      // estimate, same cycles as skylake
            ("cost.invept", "600"),          // estimate (INVLPGA / ASID flush), same cycles as skylake
            ("cost.ksm.page", "1500"),       // estimate [Arcangeli09], same cycles as skylake
        ]
    }

    /// The costs of kernel code paths and in-core steps, which every other
    /// preset keeps at Skylake's cycles (rule "same cycles",
    /// docs/cost-model.md): the sources are Skylake's, cited above.
    static let sameCyclesAsSkylake: [(key: String, value: String)] = {
        let keys: Set<String> = [
            "cost.tlb.l1", "cost.walk.psc", "cost.fault.entry", "cost.fault.exit", "cost.kernel.fault",
            "cost.frame.alloc", "cost.invlpg", "cost.tlb.flush", "cost.syscall", "cost.fork.pte",
            "cost.switch", "cost.ipi.handler", "cost.thp.split",
        ]
        return skylake.settings.filter { keys.contains($0.key) }
    }()

    /// Intel Ice Lake-SP (Sunny Cove core, 3rd-gen Xeon Scalable, 2021) at 3.0 GHz.
    public static let icelake = CPUPreset(
        name: "icelake", summary: "Intel Ice Lake-SP (Sunny Cove) core", gigahertz: 3.0,
        settings: [
            ("tlb.l1d.entries", "64"),       // [CPUID-ICL] leaf 0x18.3: load DTLB 4 KiB, 4 ways x 16 sets
            ("tlb.l1d.ways", "4"),           // [CPUID-ICL] leaf 0x18.3 (16-entry store DTLB not modelled)
            ("tlb.l1i.entries", "128"),      // [WikiChip-SNC] only the 2 MiB ITLB grew; 4 KiB ITLB as Skylake
            ("tlb.l1i.ways", "8"),           // [WikiChip-SNC] as Skylake (not enumerated by leaf 0x18)
            ("tlb.l2.entries", "2048"),      // [CPUID-ICL] leaf 0x18.6 + 0x18.7: 2 x 1024 entries hold 4 KiB
            ("tlb.l2.ways", "16"),           // [CPUID-ICL] 2 x 8 ways over 128 sets
            ("tlb.l1d.2m.entries", "32"),    // [CPUID-ICL] leaf 0x18.4: load DTLB 2/4 MiB, 4 ways x 8 sets
            ("tlb.l1d.2m.ways", "4"),        // [CPUID-ICL] leaf 0x18.4
            ("tlb.l1d.1g.entries", "8"),     // [CPUID-ICL] leaf 0x18.5: load DTLB 1 GiB, 8 entries, fully assoc.
            ("tlb.l1d.1g.ways", "8"),        // [CPUID-ICL] fully associative
            ("tlb.l1i.2m.entries", "8"),     // [CPUID-ICL] leaf 0x18.1: 8, fully assoc.; [WikiChip-SNC] 8 per thread
            ("tlb.l1i.2m.ways", "8"),        // [CPUID-ICL] fully associative
            ("tlb.l2.1g.entries", "1024"),   // [CPUID-ICL] leaf 0x18.7: the 4 KiB + 1 GiB STLB array, 1024 entries
            ("tlb.l2.1g.ways", "8"),         // [CPUID-ICL] 8 ways x 128 sets (its 4 KiB share not modelled)
            ("psc.pml5e", "0"),             // mmusim choice: Intel publishes no PML5E cache size
            ("psc.pml4e", "2"),              // derived: Skylake value (Intel publishes no PSC sizes)
            ("psc.pdpte", "4"),              // derived: Skylake value
            ("psc.pde", "32"),               // derived: Skylake value
            ("ptcache.l1d.lines", "96"),     // rule: 1/8 of 48 KiB L1D [IntelXeon3] (768 lines)
            ("ptcache.l2.lines", "10240"),   // rule: 1/2 of 1.25 MiB L2 [IntelXeon3] (20480 lines)
            ("ptcache.llc.lines", "12288"),  // rule: 1/2 of 1.5 MiB/core LLC [IntelXeon3] (24576 lines)
            ("cost.access", "5"),            // [SNC-lat] Sunny Cove L1D 5 cycles (48 KiB, up from 4; not re-read)
            ("cost.tlb.l2", "7"),            // [TMA-ICX] 4.8: Mem_STLB_Hit_Cost = 7
            ("cost.walk.ad", "7"),           // [TMA-ICX] 4.8: Avg_Assist_Cost 34 slots / 5 wide = 6.8
            ("cost.walk.l1d", "6"),          // derived: Skylake 5 + 1 for the 5-cycle L1D
            ("cost.walk.l2", "14"),          // [SNC-lat] Ice Lake-SP L2 ~14 cycles (not re-read)
            ("cost.walk.llc", "56"),         // [TMA-ICX] derived: 50 x 23 ns / 20.5 ns (ICX vs SKX L3 hit)
            ("cost.walk.dram", "208"),       // [TMA-ICX] derived: 250 x 66.5 ns / 80 ns (ICX vs SKX DRAM)
            ("cost.frame.zero", "1300"),     // [Arora22] measured on Ice Lake-SP: 434 ns at 3.0 GHz
            ("cost.frame.copy", "2600"),     // [Arora22] derived: twice a zero
            ("cost.pte.write", "6"),         // derived: Skylake 5 + 1 for the 5-cycle L1D
            ("cost.ipi.send", "250"),        // derived: same ns (3.0 GHz: same cycles)
            ("cost.ipi.latency", "350"),     // derived: same ns
            ("cost.invlpgb", "100"),         // hypothetical on Intel (no INVLPGB): Skylake value
            ("cost.tlbsync", "600"),         // hypothetical on Intel (no TLBSYNC): Skylake value
        ] + sameCyclesAsSkylake + intelVirtualization)

    /// AMD Zen 3 (Ryzen 5000 "Vermeer", EPYC 7003 "Milan", 2020) at 3.5 GHz.
    public static let zen3 = CPUPreset(
        name: "zen3", summary: "AMD Zen 3 core", gigahertz: 3.5,
        settings: [
            ("tlb.l1d.entries", "64"),       // [CPUID-Zen3] 0x80000005 EBX[31:16] = FF40h: 64, fully assoc.
            ("tlb.l1d.ways", "64"),          // [CPUID-Zen3] fully associative
            ("tlb.l1i.entries", "64"),       // [CPUID-Zen3] 0x80000005 EBX[15:0] = FF40h: 64, fully assoc.
            ("tlb.l1i.ways", "64"),          // [CPUID-Zen3] fully associative
            ("tlb.l2.entries", "2048"),      // [CPUID-Zen3] 0x80000006 EBX[27:16] = 800h (L2 DTLB 4 KiB)
            ("tlb.l2.ways", "16"),           // [AMDSOG-Zen3] 16-way (not re-read); CPUID reports code 6 for 4 KiB
            ("tlb.l1d.2m.entries", "64"),    // [CPUID-Zen3] 0x80000005 EAX[31:16] = FF40h; rule: one L1 array, all sizes
            ("tlb.l1d.2m.ways", "64"),       // [CPUID-Zen3] fully associative
            ("tlb.l1d.1g.entries", "64"),    // [CPUID-Zen3] 0x80000019 EAX[31:16] = F040h; rule: one L1 array
            ("tlb.l1d.1g.ways", "64"),       // [CPUID-Zen3] fully associative
            ("tlb.l1i.2m.entries", "64"),    // [CPUID-Zen3] 0x80000005 EAX[15:0] = FF40h; rule: one L1 array
            ("tlb.l1i.2m.ways", "64"),       // [CPUID-Zen3] fully associative
            ("tlb.l2.1g.entries", "64"),     // [CPUID-Zen3] 0x80000019 EBX[31:16] = F040h: L2 DTLB 1 GiB, 64
            ("tlb.l2.1g.ways", "64"),        // [CPUID-Zen3] code Fh: fully associative
            ("psc.pml5e", "0"),             // no PML5E cache: Zen 3 has no five-level paging [CPUID-Zen3]
            ("psc.pml4e", "32"),             // [CnC-N1][AMDSOG-Zen4] 64-entry PDC (Zen 2, Zen 4), split evenly
            ("psc.pdpte", "32"),             // [CnC-N1][AMDSOG-Zen4] as above (Zen 3 assumed equal)
            ("psc.pde", "32"),               // derived: PDEs live in the L2 DTLB; Skylake PDE-cache size
            ("ptcache.l1d.lines", "64"),     // rule: 1/8 of 32 KiB L1D [CPUID-Zen3]
            ("ptcache.l2.lines", "4096"),    // rule: 1/2 of 512 KiB L2 [CPUID-Zen3]
            ("ptcache.llc.lines", "32768"),  // rule: 1/2 of 4 MiB/core (32 MiB per 8-core CCX) [CPUID-Zen3]
            ("cost.access", "4"),            // [AMDSOG-Zen3] 4-cycle integer load-to-use (simple addressing)
            ("cost.tlb.l2", "7"),            // [CnC-N1] Zen 2 L2 TLB 7 cycles; [CnC-Zen4] Zen 4 7-8: derived
            ("cost.walk.ad", "9"),           // derived: same cycles as skylake (no AMD figure; see doc)
            ("cost.walk.l1d", "5"),          // [AMDSOG-Zen3] L1D 4-5 cycles, one walker step (as Skylake)
            ("cost.walk.l2", "12"),          // [Zen-lat] Zen 3 L2 12 cycles (not re-read)
            ("cost.walk.llc", "46"),         // [Zen-lat][CnC-VCache] Zen 3 L3 ~46 cycles (not re-read)
            ("cost.walk.dram", "292"),       // derived: same ns (83 ns) at 3.5 GHz
            ("cost.frame.zero", "1517"),     // derived: same ns (434 ns) at 3.5 GHz
            ("cost.frame.copy", "3033"),     // derived: same ns (867 ns) at 3.5 GHz
            ("cost.pte.write", "5"),         // derived: same cycles (L1D 4 cycles, as Skylake)
            ("cost.ipi.send", "292"),        // derived: same ns (83 ns) at 3.5 GHz
            ("cost.ipi.latency", "408"),     // derived: same ns (117 ns) at 3.5 GHz
            ("cost.invlpgb", "100"),         // [AMDAPM3][LinuxINVLPGB] Zen 3 has INVLPGB; estimate, same cycles
            ("cost.tlbsync", "700"),         // [vanRiel25] estimate, same ns (200 ns) at 3.5 GHz
        ] + sameCyclesAsSkylake + amdVirtualization(pageDirectoryCache: "32"))

    /// AMD Zen 4 (Ryzen 7000 "Raphael", EPYC 9004 "Genoa", 2022) at 3.7 GHz.
    public static let zen4 = CPUPreset(
        name: "zen4", summary: "AMD Zen 4 core", gigahertz: 3.7,
        settings: [
            ("tlb.l1d.entries", "72"),       // [AMDSOG-Zen4][CPUID-Zen4] 0x80000005 EBX = FF48h: 72, fully assoc.
            ("tlb.l1d.ways", "72"),          // [AMDSOG-Zen4] fully associative
            ("tlb.l1i.entries", "64"),       // [AMDSOG-Zen4][CPUID-Zen4] 64, fully associative
            ("tlb.l1i.ways", "64"),          // [AMDSOG-Zen4] fully associative
            ("tlb.l2.entries", "3072"),      // [AMDSOG-Zen4][CPUID-Zen4] L2 DTLB 3072 entries (C00h)
            ("tlb.l2.ways", "24"),           // [AMDSOG-Zen4] 24-way
            ("tlb.l1d.2m.entries", "72"),    // [CPUID-Zen4] 0x80000005 EAX[31:16] = FF48h; rule: one L1 array, all sizes
            ("tlb.l1d.2m.ways", "72"),       // [CPUID-Zen4] fully associative
            ("tlb.l1d.1g.entries", "72"),    // [CPUID-Zen4] 0x80000019 EAX[31:16] = F048h; rule: one L1 array
            ("tlb.l1d.1g.ways", "72"),       // [CPUID-Zen4] fully associative
            ("tlb.l1i.2m.entries", "64"),    // [CPUID-Zen4] 0x80000005 EAX[15:0] = FF40h; rule: one L1 array
            ("tlb.l1i.2m.ways", "64"),       // [CPUID-Zen4] fully associative
            ("tlb.l2.1g.entries", "64"),     // [CPUID-Zen4] 0x80000019 EBX[31:16] = F040h: L2 DTLB 1 GiB, 64
            ("tlb.l2.1g.ways", "64"),        // [CPUID-Zen4] code Fh: fully associative
            ("psc.pml5e", "0"),             // mmusim choice: AMD publishes no PML5E cache size
            ("psc.pml4e", "32"),             // [AMDSOG-Zen4] 64-entry page-directory cache, split evenly
            ("psc.pdpte", "32"),             // [AMDSOG-Zen4] as above
            ("psc.pde", "32"),               // derived: PDEs live in the L2 DTLB; Skylake PDE-cache size
            ("ptcache.l1d.lines", "64"),     // rule: 1/8 of 32 KiB L1D [CPUID-Zen4]
            ("ptcache.l2.lines", "8192"),    // rule: 1/2 of 1 MiB L2 [CPUID-Zen4]
            ("ptcache.llc.lines", "32768"),  // rule: 1/2 of 4 MiB/core (32 MiB per 8-core CCX) [CPUID-Zen4]
            ("cost.access", "4"),            // [AMDSOG-Zen4] 4- or 5-cycle integer load-to-use
            ("cost.tlb.l2", "7"),            // [CnC-Zen4] L2 TLB hit adds 7-8 cycles
            ("cost.walk.ad", "9"),           // derived: same cycles as skylake (no AMD figure; see doc)
            ("cost.walk.l1d", "5"),          // [AMDSOG-Zen4] L1D 4-5 cycles, one walker step (as Skylake)
            ("cost.walk.l2", "14"),          // [Zen-lat] Zen 4 L2 ~14 cycles (not re-read)
            ("cost.walk.llc", "50"),         // [Zen-lat] Zen 4 L3 ~50 cycles (not re-read)
            ("cost.walk.dram", "308"),       // derived: same ns (83 ns) at 3.7 GHz
            ("cost.frame.zero", "1603"),     // derived: same ns (434 ns) at 3.7 GHz
            ("cost.frame.copy", "3207"),     // derived: same ns (867 ns) at 3.7 GHz
            ("cost.pte.write", "5"),         // derived: same cycles (L1D 4 cycles, as Skylake)
            ("cost.ipi.send", "308"),        // derived: same ns (83 ns) at 3.7 GHz
            ("cost.ipi.latency", "432"),     // derived: same ns (117 ns) at 3.7 GHz
            ("cost.invlpgb", "100"),         // [AMDAPM3][LinuxINVLPGB] estimate, same cycles
            ("cost.tlbsync", "740"),         // [vanRiel25] estimate, same ns (200 ns) at 3.7 GHz
        ] + sameCyclesAsSkylake + amdVirtualization(pageDirectoryCache: "32"))
}
