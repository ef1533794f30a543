#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A sweep as a Slurm job array: one `sbatch` script whose every array task
/// runs a slice of the cells with the same mmusim binary
/// (`mmusim sweep --file DIR/experiment.sweep --out DIR --task K/N -j 1`),
/// each saving its cells' results in `DIR/cells/`; then a job that depends on
/// the array merges them (`mmusim sweep --merge DIR`).
public struct SlurmJob: Sendable {
    public var directory: ResultDirectory
    /// The mmusim executable the tasks run (an absolute path).
    public var executable: String
    /// The directory the tasks run in (trace paths are relative to it).
    public var workingDirectory: String
    /// Array tasks (each runs every `tasks`-th cell).
    public var tasks: Int
    /// `#SBATCH` options passed through: `--partition=P`, `--time=T`, `--mem=M`, `--account=A`, ...
    public var options: [String]

    public init(directory: ResultDirectory, executable: String, workingDirectory: String, tasks: Int, options: [String]) {
        self.directory = directory
        self.executable = executable
        self.workingDirectory = workingDirectory
        self.tasks = tasks
        self.options = options
    }

    /// The job array script (deterministic: no dates, no host names).
    public var script: String {
        var lines = [
            "#!/bin/bash",
            "# mmusim sweep as a Slurm job array: each task runs every \(tasks)th cell from its own index.",
            "#SBATCH --job-name=mmusim-sweep",
            "#SBATCH --array=0-\(tasks - 1)",
            "#SBATCH --ntasks=1",
            "#SBATCH --cpus-per-task=1",
            "#SBATCH --chdir=\(workingDirectory)",
            "#SBATCH --output=\(directory.logsPath)/task-%a.out",
        ]
        lines += options.map { "#SBATCH \($0)" }
        lines += [
            "set -eu",
            "exec \(Self.quote(executable)) sweep --file \(Self.quote(directory.experimentPath)) --out \(Self.quote(directory.path))"
                + " --task \"$SLURM_ARRAY_TASK_ID/\(tasks)\" -j 1",
        ]
        return lines.joined(separator: "\n") + "\n"
    }

    /// The merge job's command (run by `sbatch --wrap` after the array).
    public var mergeCommand: String {
        "\(Self.quote(executable)) sweep --merge \(Self.quote(directory.path)) --csv \(Self.quote(directory.path + "/results.csv"))"
            + " --json \(Self.quote(directory.path + "/results.json"))"
    }

    /// Submits the array, then the merge job depending on it; the two job IDs,
    /// or what `sbatch` said when it failed.
    public func submit() -> Result<(array: String, merge: String), ExperimentError> {
        let array: String
        switch Self.sbatch(["--parsable", directory.jobScriptPath]) {
        case .success(let id): array = id
        case .failure(let error): return .failure(error)
        }
        let merge = Self.sbatch(["--parsable", "--job-name=mmusim-merge", "--dependency=afterok:\(array)",
                                 "--chdir=\(workingDirectory)", "--output=\(directory.logsPath)/merge.out"]
                                + options + ["--wrap=\(mergeCommand)"])
        return merge.map { (array, $0) }
    }

    /// Runs `sbatch ARGUMENTS`; its job ID (`--parsable` prints `ID` or `ID;CLUSTER`).
    static func sbatch(_ arguments: [String]) -> Result<String, ExperimentError> {
        let command = (["sbatch"] + arguments).map(quote).joined(separator: " ") + " 2>&1"
        guard let pipe = popen(command, "r") else {
            return .failure(ExperimentError(place: "sbatch", message: "cannot run: \(String(cString: strerror(errno)))"))
        }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, pipe) }
            if count <= 0 { break }
            output += chunk[0..<count]
        }
        let status = pclose(pipe)
        let text = String(decoding: output, as: UTF8.self).split(separator: "\n").joined(separator: " ")
        guard status == 0, let id = text.split(separator: ";").first, !id.isEmpty, id.allSatisfy(\.isNumber) else {
            return .failure(ExperimentError(place: "sbatch", message: text.isEmpty ? "failed (status \(status))" : text))
        }
        return .success(String(id))
    }

    /// `text` as one shell word.
    public static func quote(_ text: String) -> String {
        if !text.isEmpty, text.allSatisfy({ $0.isLetter || $0.isNumber || "/._-=:,+@%".contains($0) }), text.allSatisfy(\.isASCII) {
            return text
        }
        return "'" + text.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
    }

    /// The running executable's absolute path (`/proc/self/exe`), else `fallback`.
    public static func currentExecutable(fallback: String) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return fallback }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The current directory, or "." when it cannot be read.
    public static func currentDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return "." }
        return String(cString: buffer)
    }
}
