import MMUTrace

/// How a command that polls for SIGINT and SIGTERM (`run`, `check`, `sweep`)
/// asks for them: `Signals` (MMUTrace) holds the flag the handlers set.
enum Interrupt {
    /// Says that this command checks `requested` and cleans up itself: a stop
    /// then ends it at the next check instead of at once.
    static func install() { Signals.poll() }

    static var requested: Bool { Signals.stopRequested }

    /// Whether SIGINT or SIGTERM (not a closed standard output) asked for the stop:
    /// only then is there someone to tell that the results are partial.
    static var bySignal: Bool { Signals.stopStatus != nil }
}
