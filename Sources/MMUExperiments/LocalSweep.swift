import Dispatch
import Synchronization

/// Runs a sweep's cells on `workers` threads of this process. Each finished
/// cell is saved at once (with a directory) so an interrupted sweep keeps it;
/// a cell whose saved result matches is not run again. The results do not
/// depend on how many workers ran them or in what order they finished.
public struct LocalSweep: Sendable {
    public var experiment: Experiment
    /// Where results are saved and found again; nil keeps them in memory only.
    public var directory: ResultDirectory?
    public var workers: Int
    /// The cells to run, in the order to start them (default: all, in cell order).
    public var order: [Int]?

    public init(experiment: Experiment, directory: ResultDirectory? = nil, workers: Int = 1, order: [Int]? = nil) {
        self.experiment = experiment
        self.directory = directory
        self.workers = max(1, workers)
        self.order = order
    }

    /// What a sweep (or a slice of one) did.
    public struct Outcome: Sendable {
        /// Results by cell index (nil: not in the slice, failed or interrupted).
        public var results: [CellResult?]
        /// Cells whose saved result was reused.
        public var reused: Int
        /// Cells that failed, with why, by index.
        public var failures: [(index: Int, message: String)]
        /// Whether `stop` ended the sweep early.
        public var interrupted: Bool
    }

    /// The progress of a sweep: cells done (reused ones included) of those to do.
    public struct Progress: Sendable {
        public var done: Int
        public var total: Int
        public var elapsedSeconds: Double
        /// Seconds left at the pace so far; nil before the first cell ran.
        public var remainingSeconds: Double?
    }

    final class Shared: Sendable {
        let next = Atomic<Int>(0)
        let state: Mutex<(results: [CellResult?], reused: Int, failures: [(Int, String)], done: Int, interrupted: Bool)>

        init(count: Int) {
            state = Mutex((results: [CellResult?](repeating: nil, count: count), reused: 0, failures: [], done: 0, interrupted: false))
        }
    }

    /// Runs the cells; `progress` is called on the calling thread a few
    /// times a second while they run; `stop` is polled between cells and
    /// during runs.
    public func run(stop: @escaping @Sendable () -> Bool = { false }, progress: (Progress) -> Void = { _ in }) -> Outcome {
        let cells = experiment.cells
        let order = self.order ?? Array(cells.indices)
        let shared = Shared(count: cells.count)
        let started = CellRunner.monotonicSeconds()
        let directory = self.directory
        let group = DispatchGroup()
        for _ in 0..<min(workers, max(1, order.count)) {
            DispatchQueue.global().async(group: group) {
                while !stop() {
                    let position = shared.next.add(1, ordering: .relaxed).oldValue
                    guard position < order.count, cells.indices.contains(order[position]) else { return }
                    let cell = cells[order[position]]
                    var outcome: Result<CellResult, CellFailure>
                    var reused = false
                    if let saved = directory?.saved(cell) {
                        outcome = .success(saved)
                        reused = true
                    } else {
                        let ran = CellRunner.run(cell, stop: stop)
                        outcome = ran
                        if case .success(let result) = ran, let problem = directory?.save(result) {
                            outcome = .failure(.bad(problem))
                        }
                    }
                    shared.state.withLock { state in
                        switch outcome {
                        case .success(let result):
                            state.results[cell.index] = result
                            if reused { state.reused += 1 }
                        case .failure(.bad(let message)):
                            state.failures.append((cell.index, message))
                        case .failure(.interrupted):
                            state.interrupted = true
                            return
                        }
                        state.done += 1
                    }
                }
            }
        }
        func report() {
            let (done, reused) = shared.state.withLock { ($0.done, $0.reused) }
            let elapsed = CellRunner.monotonicSeconds() - started
            let ran = done - reused
            let remaining = ran > 0 ? elapsed / Double(ran) * Double(order.count - done) : nil
            progress(Progress(done: done, total: order.count, elapsedSeconds: elapsed, remainingSeconds: remaining))
        }
        while group.wait(timeout: .now() + .milliseconds(250)) == .timedOut { report() }
        report()
        return shared.state.withLock { state in
            Outcome(results: state.results, reused: state.reused,
                    failures: state.failures.sorted { $0.0 < $1.0 }.map { (index: $0.0, message: $0.1) },
                    interrupted: state.interrupted || (stop() && state.done < order.count))
        }
    }

    /// The cells of array task `task` of `tasks`: every `tasks`-th cell from
    /// `task` (interleaved, so each task gets a share of every trace).
    public static func slice(task: Int, of tasks: Int, cells count: Int) -> [Int] {
        guard tasks > 0, task >= 0, task < tasks else { return [] }
        return Array(stride(from: task, to: count, by: tasks))
    }
}
