import MMUKernel
import MMUTrace

/// The fitted configuration as a `--config` file: the preset's keys, then the
/// fitted ones, with the host and its measurements in comments.
extension Calibration {
    static func configurationFile(host: HostDescription, preset: CPUPreset, fit: Fitting.Result,
                                  measured: [Operation: HostProbe.Measurement],
                                  hugeMeasured: [HugeOperation: HostProbe.HugeMeasurement] = [:]) -> String {
        var lines = [
            "# mmusim configuration fitted by `mmusim calibrate --cpu \(preset.name)` (docs/calibration.md)",
            "# host: \(host.summary)",
            "# preset: \(preset.name) (\(preset.summary)); measured ns x \(format(preset.gigahertz, 2)) GHz = cycles",
        ]
        for operation in Operation.allCases {
            let value = measured[operation]?.nanoseconds.map { format($0, 1) + " ns" } ?? "unavailable"
            lines.append("# measured \(operation.name): \(value)")
        }
        for operation in HugeOperation.allCases {
            guard let row = hugeMeasured[operation] else { continue }
            let value = row.time.nanoseconds.map { format($0, 1) + " ns (\(row.counts.summary))" } ?? (row.time.problem ?? "unavailable")
            lines.append("# measured \(operation.name): \(value)")
        }
        if let derivation = fit.thpSplit { lines.append("# " + derivation) }
        let fitted = Set(fit.changes.map(\.key))
        lines.append("# the preset's keys, unchanged")
        for (key, _) in preset.settings where !fitted.contains(key) {
            if let value = fit.configuration.value(of: key) { lines.append("\(key) = \(value)") }
        }
        lines.append("# fitted to this host; \(preset.name) has " + fit.changes.map { "\($0.key) \($0.from)" }.joined(separator: ", "))
        for change in fit.changes { lines.append("\(change.key) = \(change.to)") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes `text` to `path` whole (`AtomicFile`: under a temporary name
    /// renamed into place); nil when written, else why not.
    public static func write(_ text: String, to path: String) -> String? {
        AtomicFile.write(text, to: path)
    }
}
