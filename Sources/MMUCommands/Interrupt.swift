#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Set by SIGINT; runs poll it between directives and stop cleanly, printing
/// the statistics reached so far. The one piece of process-wide state: a
/// signal handler can reach nothing else.
let interruptRequested = Atomic<Bool>(false)

enum Interrupt {
    /// Routes SIGINT to the flag (a second SIGINT while stopping is ignored).
    static func install() {
        signal(SIGINT) { _ in interruptRequested.store(true, ordering: .relaxed) }
    }

    static var requested: Bool { interruptRequested.load(ordering: .relaxed) }
}
