import Testing
import MMUHardware
import MMUKernel
@testable import MMUTrace

@Suite("The vm-cow and vm-threads-unmap scenarios")
struct VirtualMachineScenarioTests {
    @Test("vm-cow: ksm merges the image and its tables, the rewrite is one host copy per page, every read checks its value")
    func vmCow() throws {
        let trace = try MMTReader(file: "vm-cow").read(Scenario.vmCow.trace(cores: 2))
        var runner = TraceRunner(trace: trace, checkCoherence: true)
        runner.run()
        #expect(runner.failures.isEmpty, "\(runner.failures)")
        let system = runner.system
        // 64 image pages and the 4 page-table pages above them match between the VMs.
        #expect(system.statistic("ksm.merged") == UInt64(Scenario.imagePages + 4))
        // VM 2 rewrites every fourth page: one host copy each.
        #expect(system.statistic("faults.ept_cow_copy") == UInt64(Scenario.imagePages / 4))
        #expect(system.invariantViolations().isEmpty)
        let phases = try Scenario.runPhases(Scenario.vmCowNativePhases, name: "native", statistics: ["faults.cow_copy", "faults.ept"])
        #expect(phases.map { $0.statistics["faults.cow_copy"] ?? 0 }.reduce(0, +) == UInt64(Scenario.imagePages / 4))
        #expect(phases.allSatisfy { $0.statistics["faults.ept"] == 0 })
        let report = try VMCowReport.table()
        #expect(report.contains("ksm merges them") && report.contains("fork: process 2 shares it"))
    }

    @Test("vm-threads-unmap is threads-unmap inside VM 1, with the same assertions passing")
    func vmThreadsUnmap() throws {
        let native = Scenario.threadsUnmap.trace(cores: 4, rounds: 8)
        let guest = Scenario.vmThreadsUnmap.trace(cores: 4, rounds: 8)
        #expect(guest.contains("process 1 vm 1"))
        #expect(native.split(separator: "\n").dropFirst(3) == guest.split(separator: "\n").dropFirst(4))
        var runner = TraceRunner(trace: try MMTReader(file: "vm").read(guest), checkCoherence: true)
        runner.run()
        #expect(runner.failures.isEmpty, "\(runner.failures)")
        #expect(runner.system.statistic("shootdowns") == 8)
        #expect(runner.system.invariantViolations().isEmpty)
    }
}
