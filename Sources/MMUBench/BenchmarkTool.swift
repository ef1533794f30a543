#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MMUKernel

/// `mmusim-bench [NAME...] [--runs N] [--size N] [--json] [--list]`: one
/// warm-up, N timed runs per benchmark, median and spread (swift-nio's
/// performance tester's shape). `--size` replaces each chosen benchmark's size
/// (accesses, pages or rounds), for short runs under callgrind.
/// `mmusim-bench scaling [--runs N]` prints the scaling tables (`Scaling`).
public enum BenchmarkTool {
    public static func main(_ arguments: [String]) -> Int32 {
        var runs = 5
        var size: UInt64?
        var json = false
        var names: [String] = []
        var scaling = false
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            switch argument {
            case "--json": json = true
            case "scaling": scaling = true
            case "--footprint-row":
                guard index < arguments.count, let pages = Int(arguments[index]), pages >= 1 else { return 2 }
                return Scaling.footprintRow(pages: pages)
            case "--list":
                for benchmark in Benchmark.all { emit(1, "\(benchmark.name)  \(benchmark.summary)\n") }
                return 0
            case "--runs":
                guard index < arguments.count, let n = Int(arguments[index]), n >= 1, n <= 1000 else {
                    emit(2, "mmusim-bench: --runs takes a number from 1 to 1000\n")
                    return 2
                }
                runs = n
                index += 1
            case "--size":
                guard index < arguments.count, let n = UInt64(arguments[index]), n >= 1 else {
                    emit(2, "mmusim-bench: --size takes a positive number\n")
                    return 2
                }
                size = n
                index += 1
            default:
                guard Benchmark.all.contains(where: { $0.name.hasPrefix(argument) }) else {
                    emit(2, "mmusim-bench: no benchmark named '\(argument)' (see --list)\n")
                    return 2
                }
                names.append(argument)
            }
        }
        if scaling { return Scaling.run(runs: runs) }
        let chosen = Benchmark.all.filter { b in names.isEmpty || names.contains { b.name.hasPrefix($0) } }
        var results: [Result] = []
        for benchmark in chosen {
            results.append(measure(benchmark, runs: runs, size: size ?? benchmark.defaultSize))
            if !json, let last = results.last { emit(1, last.line + "\n") }
        }
        if json { emit(1, Result.json(results) + "\n") }
        Benchmark.removeReplayFiles()
        return 0
    }

    struct Result {
        var name: String
        var unit: String
        var units: UInt64
        var seconds: [Double]
        var checksum: UInt64

        var median: Double { let s = seconds.sorted(); return s[s.count / 2] }
        var rate: Double { Double(units) / median }
        var spread: Double { ((seconds.max() ?? 0) - (seconds.min() ?? 0)) / median }

        var line: String {
            let rateText = rate >= 1_000_000 ? "\(format(rate / 1_000_000)) M \(unit)/s"
                : rate >= 1000 ? "\(format(rate / 1000)) K \(unit)/s" : "\(format(rate)) \(unit)/s"
            return pad(name, 22) + pad(rateText, 28) + "median " + format(median * 1000) + " ms  spread "
                + format(spread * 100) + "%  (\(seconds.count) runs, checksum \(checksum % 1000))"
        }

        static func json(_ results: [Result]) -> String {
            "[\n" + results.map { r in
                "  {\"name\": \"\(r.name)\", \"unit\": \"\(r.unit)\", \"units\": \(r.units), \"median_seconds\": \(r.median), "
                    + "\"per_second\": \(r.rate), \"spread\": \(r.spread), \"runs\": \(r.seconds.count)}"
            }.joined(separator: ",\n") + "\n]"
        }
    }

    static func measure(_ benchmark: Benchmark, runs: Int, size: UInt64) -> Result {
        var seconds: [Double] = []
        var units: UInt64 = 0
        var checksum: UInt64 = 0
        for run in 0...runs {
            var system = benchmark.prepare(size)
            let start = now()
            let outcome = benchmark.run(&system, size)
            let elapsed = now() - start
            if run > 0 { seconds.append(elapsed) }  // run 0 is the warm-up
            units = outcome.units
            checksum &+= outcome.checksum
        }
        return Result(name: benchmark.name, unit: benchmark.unit, units: units, seconds: seconds, checksum: checksum)
    }

    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}

func format(_ value: Double) -> String {
    let scaled = (value * 10).rounded() / 10
    return String(scaled)
}

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
}

/// Writes straight to a file descriptor, unbuffered, so progress shows as it comes.
func emit(_ descriptor: Int32, _ text: String) {
    var bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let written = bytes.withUnsafeMutableBytes { write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
        if written <= 0 { return }
        offset += written
    }
    bytes.removeAll()
}
