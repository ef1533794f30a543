import MMUTrace

/// The merged results of a sweep: one row per cell in cell order, the cell's
/// parameters, then every statistic.
///
/// The CSV holds nothing that depends on the host or the order cells
/// finished in: it is byte-identical however many workers ran the cells, and
/// whether they ran here or in a Slurm job array. Wall times are in the JSON
/// table only.
public struct ResultTable: Sendable {
    public var experiment: Experiment
    /// One result per cell, in cell order.
    public var results: [CellResult]

    /// The table of `experiment` from `results` (any order); nil names the
    /// cells that have none.
    public static func merge(_ experiment: Experiment, _ results: [CellResult]) -> Result<ResultTable, MissingCells> {
        var byIndex = [CellResult?](repeating: nil, count: experiment.cellCount)
        for result in results where byIndex.indices.contains(result.index) { byIndex[result.index] = result }
        let missing = byIndex.indices.filter { byIndex[$0] == nil }
        guard missing.isEmpty else { return .failure(MissingCells(indices: missing, total: byIndex.count)) }
        return .success(ResultTable(experiment: experiment, results: byIndex.compactMap { $0 }))
    }

    /// The table of the experiment saved in `directory`, from its cell files.
    public static func merge(directory: ResultDirectory) -> Result<ResultTable, ExperimentError> {
        guard let text = ResultDirectory.read(directory.experimentPath) else {
            return .failure(ExperimentError(place: directory.experimentPath, message: "cannot read (is it a sweep's --out directory?)"))
        }
        let experiment: Experiment
        do throws(ExperimentError) { experiment = try ExperimentFile.parse(text, file: directory.experimentPath) } catch {
            return .failure(error)
        }
        let results = experiment.cells.compactMap { directory.saved($0) }
        switch merge(experiment, results) {
        case .success(let table): return .success(table)
        case .failure(let missing): return .failure(ExperimentError(place: directory.path, message: missing.description))
        }
    }

    /// The columns: every cell's statistics (the native ones; the VM ones
    /// too when some cell ran VMs, 0 in a cell that did not).
    public var statisticNames: [String] { results.max { $0.names.count < $1.names.count }?.names ?? [] }

    /// A cell's values under `statisticNames`.
    func values(_ result: CellResult) -> [UInt64] {
        result.values + Array(repeating: 0, count: max(0, statisticNames.count - result.values.count))
    }

    /// RFC 4180 CSV: a header line, then one line per cell.
    public func csv() -> String {
        let cells = experiment.cells
        let withPreset = !experiment.presets.isEmpty
        var lines = [(experiment.parameterColumns + statisticNames).map(Self.field).joined(separator: ",")]
        for (cell, result) in zip(cells, results) {
            lines.append((cell.parameters(withPreset: withPreset).map(Self.field) + values(result).map(String.init)).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// One JSON object, schema `mmusim-sweep-1`: the parameter and statistic
    /// names, then a cell per row with its parameters, statistics and wall time.
    public func json() -> String {
        let cells = experiment.cells
        let columns = experiment.parameterColumns
        let quote = StatisticsReport.jsonString
        var rows: [String] = []
        for (cell, result) in zip(cells, results) {
            let parameters = zip(columns, cell.parameters(withPreset: !experiment.presets.isEmpty)).map { "\(quote($0)): \(quote($1))" }
            let statistics = zip(statisticNames, values(result)).map { "\(quote($0)): \($1)" }
            rows.append("    {\"index\": \(cell.index), \"wall_microseconds\": \(UInt64(max(0, result.wallSeconds * 1e6).rounded())),\n"
                + "     \"parameters\": {" + parameters.joined(separator: ", ") + "},\n"
                + "     \"statistics\": {" + statistics.joined(separator: ", ") + "}}")
        }
        return "{\n  \"schema\": \"mmusim-sweep-1\",\n"
            + "  \"parameters\": [" + columns.map(quote).joined(separator: ", ") + "],\n"
            + "  \"statistics\": [" + statisticNames.map(quote).joined(separator: ", ") + "],\n"
            + "  \"cells\": [\n" + rows.joined(separator: ",\n") + "\n  ]\n}\n"
    }

    /// A CSV field, quoted when it holds a comma, a quote or a line break.
    public static func field(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\""
    }
}

/// Cells a merge found no result for.
public struct MissingCells: Error, Hashable, Sendable, CustomStringConvertible {
    public var indices: [Int]
    public var total: Int

    public var description: String {
        let shown = indices.prefix(10).map(String.init).joined(separator: ", ")
        return "\(indices.count) of \(total) cells have no result (cells \(shown)\(indices.count > 10 ? ", ..." : "")); "
            + "run the sweep again with the same --out to finish them"
    }
}
