#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// SIGINT, SIGTERM and SIGPIPE as every mmusim command handles them
/// (docs/robustness.md). The only process-wide state: a signal handler can
/// reach nothing else.
///
/// - SIGINT and SIGTERM: a command that polls (`run`, `check`, `sweep`: it
///   called `Signals.poll()`) sees `stopRequested` between records or files,
///   stops, drops its temporary files, prints what is complete and exits
///   128 + the signal (130, 143). Any other command (or a second signal) has
///   the handler remove the temporary file being written and exit at once.
///   The handlers are installed without `SA_RESTART`, so a read blocked on a
///   FIFO with no writer returns `EINTR` and the reader gives up.
/// - SIGPIPE is ignored: a write to a closed pipe fails with `EPIPE`, which
///   `Console` and `AtomicFile` report.
public enum Signals {
    /// The signal that asked to stop (SIGINT or SIGTERM), 0 while none has.
    static let received = Atomic<Int32>(0)
    /// Whether the running command checks `stopRequested` itself.
    static let polled = Atomic<Bool>(false)
    /// The temporary output file a command is writing, for the handler to
    /// remove before an immediate exit (one at a time): the address of its
    /// C string, 0 when none.
    static let temporary = Atomic<Int>(0)
    /// Set by `requestStop` (a failed write to standard output).
    static let stopWithoutSignal = Atomic<Bool>(false)

    /// Installs the handlers (once per process; again is harmless).
    public static func install() {
        _ = received.load(ordering: .relaxed)
        _ = polled.load(ordering: .relaxed)
        _ = temporary.load(ordering: .relaxed)
        var action = sigaction()
        #if canImport(Glibc)
        action.__sigaction_handler.sa_handler = { number in Signals.handle(number) }
        #else
        action.__sigaction_u.__sa_handler = { number in Signals.handle(number) }
        #endif
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        sigaction(SIGINT, &action, nil)
        sigaction(SIGTERM, &action, nil)
        signal(SIGPIPE, SIG_IGN)
        // A parent may have started us with them blocked; they must arrive.
        var wanted = sigset_t()
        sigemptyset(&wanted)
        sigaddset(&wanted, SIGINT)
        sigaddset(&wanted, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &wanted, nil)
    }

    /// Says that the running command checks `stopRequested` and cleans up itself.
    public static func poll() { polled.store(true, ordering: .relaxed) }

    /// Whether SIGINT or SIGTERM asked the command to stop.
    public static var stopRequested: Bool {
        received.load(ordering: .relaxed) != 0 || stopWithoutSignal.load(ordering: .relaxed)
    }

    /// The exit status a stop asks for (130 for SIGINT, 143 for SIGTERM), nil when none did.
    public static var stopStatus: Int32? {
        let number = received.load(ordering: .relaxed)
        return number == 0 ? nil : 128 + number
    }

    /// What the handler does: async-signal-safe work only (atomics, unlink, _exit).
    private static func handle(_ number: Int32) {
        let (first, _) = received.compareExchange(expected: 0, desired: number, ordering: .relaxed)
        if first && polled.load(ordering: .relaxed) { return }
        if let path = UnsafePointer<CChar>(bitPattern: temporary.load(ordering: .relaxed)) { unlink(path) }
        _exit(128 + number)
    }

    /// Records `path` as the temporary file to remove on an immediate exit;
    /// the token to hand to `forget`, nil when another file holds the slot.
    static func remember(_ path: String) -> UnsafeMutablePointer<CChar>? {
        guard let copy = FileName.withCString(path, { strdup($0) }) else { return nil }
        if temporary.compareExchange(expected: 0, desired: Int(bitPattern: copy), ordering: .sequentiallyConsistent).exchanged { return copy }
        free(copy)
        return nil
    }

    /// Clears the slot `remember` filled (before the file is renamed or removed).
    static func forget(_ token: UnsafeMutablePointer<CChar>?) {
        guard let token else { return }
        if temporary.compareExchange(expected: Int(bitPattern: token), desired: 0, ordering: .sequentiallyConsistent).exchanged { free(token) }
    }
}

extension Signals {
    /// Asks a polling command to stop without a signal (standard output is
    /// gone: nothing more it prints can be seen). The exit status is then the
    /// output failure's, not a signal's.
    public static func requestStop() { stopWithoutSignal.store(true, ordering: .relaxed) }
}
