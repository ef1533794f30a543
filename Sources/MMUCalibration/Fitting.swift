import MMUHardware
import MMUKernel

/// Fits the fault-path keys to measured cycles, one rule per key, in order
/// (docs/calibration.md, "Fitting"). The one-core probes are linear in every
/// cost, so each key is solved from two model runs (the key at 0 and at 1000).
public enum Fitting {
    /// One key the fit changed.
    public struct Change: Sendable, Equatable {
        public var key: String
        public var from: UInt64
        public var to: UInt64
    }

    /// The fitted configuration, what changed, and notes on the fit.
    public struct Result: Sendable {
        public var configuration: Configuration
        public var changes: [Change] = []
        public var notes: [String] = []
        /// How `cost.thp.split` was derived, when it was (rule 6).
        public var thpSplit: String? = nil
    }

    /// The fault path scaled together: delivery, the handler's base cost, return.
    static let faultPath: [CostKey] = [.faultEntry, .kernelFault, .faultExit]

    /// The value of `key` that makes the model's `operation` cost `target`
    /// cycles (unclamped), or nil when `key` does not affect it.
    static func solve(_ key: CostKey, _ operation: Calibration.Operation, target: Double, in configuration: Configuration) -> Double? {
        solve(key, target: target, in: configuration) { ModelProbe.cycles(operation, $0) }?.value
    }

    /// The value of `key` that makes `model` cost `target` cycles
    /// (unclamped), with the model at `key` = 0 and the cycles one unit of
    /// `key` adds; nil when `key` does not affect it.
    static func solve(_ key: CostKey, target: Double, in configuration: Configuration,
                      _ model: (Configuration) -> Double) -> (value: Double, rest: Double, slope: Double)? {
        let at0 = model(withCosts(configuration, [key: 0]))
        let at1000 = model(withCosts(configuration, [key: 1000]))
        let slope = (at1000 - at0) / 1000
        guard slope > 1e-9 else { return nil }
        return ((target - at0) / slope, at0, slope)
    }

    /// `preset` with its fault-path costs fitted to `m`, the measured cycles
    /// of each operation, and `cost.thp.split` to `huge`, those of the THP operations.
    public static func fit(_ preset: Configuration, measuredCycles m: [Calibration.Operation: Double],
                           hugeCycles huge: [Calibration.HugeOperation: Double] = [:]) -> Result {
        var result = Result(configuration: preset)
        func change(_ key: CostKey, _ value: Double) {
            let to = UInt64(max(0, min(value.rounded(), Double(Configuration.Limits.cost.upperBound))))
            result.configuration = withCosts(result.configuration, [key: to])
        }

        // 1. Scale fault.entry, kernel.fault and fault.exit by one factor s, the
        //    relative least-squares fit of the two faults that allocate nothing
        //    (zero page, COW reuse): model_i(s) = a_i + s * f_i.
        var numerator = 0.0, denominator = 0.0
        for operation in [Calibration.Operation.zeroPage, .cowReuse] {
            guard let measured = m[operation], measured > 0 else { continue }
            let full = ModelProbe.cycles(operation, result.configuration)
            let rest = ModelProbe.cycles(operation, withCosts(result.configuration, Dictionary(uniqueKeysWithValues: faultPath.map { ($0, 0) })))
            let f = full - rest
            numerator += (f / measured) * (1 - rest / measured)
            denominator += (f / measured) * (f / measured)
        }
        if denominator > 0 {
            let scale = max(numerator / denominator, 0.01)
            for key in faultPath { change(key, Double(cost(preset, key)) * scale) }
        }

        // 2-4. frame.zero from the measured 4 KiB memset; frame.alloc from the
        //    demand-zero fault (what it costs beyond the scaled fault path and
        //    the zeroing: Linux's allocation plus the new page's memcg charge,
        //    rmap and LRU bookkeeping); frame.copy from the COW copy fault (what
        //    it costs beyond the fault path, that allocation, two PTE writes and
        //    the local INVLPG). When that leaves frame.alloc or frame.copy
        //    negative (the two faults disagree, or noise), the other way round:
        //    frame.copy from the measured memcpy, frame.alloc from the COW copy
        //    fault, frame.zero from the demand-zero fault.
        let before = result.configuration
        if let zero = m[.zero] { change(.frameZero, zero) }
        var alloc: Double? = nil, copy: Double? = nil
        if let demandZero = m[.demandZero], let a = solve(.frameAlloc, .demandZero, target: demandZero, in: result.configuration) {
            alloc = a
            change(.frameAlloc, a)
        }
        if let cowCopy = m[.cowCopy], let c = solve(.frameCopy, .cowCopy, target: cowCopy, in: result.configuration) {
            copy = c
            change(.frameCopy, c)
        } else if let c = m[.copy] {
            change(.frameCopy, c)
        }
        if (alloc ?? 0) < 0 || (copy ?? 0) < 0 {
            result.configuration = before
            if let c = m[.copy] { change(.frameCopy, c) }
            if let cowCopy = m[.cowCopy], let a = solve(.frameAlloc, .cowCopy, target: cowCopy, in: result.configuration) {
                change(.frameAlloc, a)
                if a < 0 { result.notes.append("the COW copy fault costs less than the fitted fault path plus a 4 KiB memcpy; frame.alloc = 0") }
            }
            if let demandZero = m[.demandZero], let z = solve(.frameZero, .demandZero, target: demandZero, in: result.configuration) {
                change(.frameZero, z)
                if z < 0 { result.notes.append("the demand-zero fault costs less than the fitted fault path and allocation; frame.zero = 0") }
            }
            result.notes.append("fitting rule 2 (frame.copy from memcpy, frame.alloc from the COW copy fault, frame.zero from the demand-zero fault): "
                + "rule 1 left frame.\((alloc ?? 0) < 0 ? "alloc" : "copy") negative")
        }

        // 5. fork.pte from fork per MiB (256 PTEs, plus the page-table pages at
        //    the fitted alloc + zero).
        if let fork = m[.forkPerMiB], let perPTE = solve(.forkPTE, .forkPerMiB, target: fork, in: result.configuration) {
            change(.forkPTE, perPTE)
            if perPTE < 0 { result.notes.append("fork per MiB is less than its page-table pages cost in the fitted model; fork.pte = 0") }
        }

        // 6. thp.split from the child's COW write to a huge page (split + 4 KiB
        //    copy): what it costs beyond the same write with thp.split = 0 in
        //    the fitted model (the fault path, the new table's alloc + zero,
        //    512 PTE writes, two INVLPGs, the 4 KiB copy's alloc + copy + PTE
        //    writes, the walks), per unit of thp.split (charged once).
        if let split = huge[.thpSplitCopy],
           let solved = solve(.thpSplit, target: split, in: result.configuration, { ModelProbe.cycles(.thpSplitCopy, $0) }) {
            change(.thpSplit, solved.value)
            result.thpSplit = "cost.thp.split = (measured split + copy \(Calibration.format(split, 0)) - fitted model with "
                + "cost.thp.split 0: \(Calibration.format(solved.rest, 0))) / \(Calibration.format(solved.slope, 2)) = "
                + "\(Calibration.format(solved.value, 0)) cycles"
            if solved.value < 0 { result.notes.append("the THP split + copy costs less than the fitted model without the split; thp.split = 0") }
        }

        for key in CostKey.allCases where cost(result.configuration, key) != cost(preset, key) {
            result.changes.append(Change(key: key.name, from: cost(preset, key), to: cost(result.configuration, key)))
        }
        return result
    }
}
