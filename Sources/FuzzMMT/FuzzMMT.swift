import MMUFuzzing

/// libFuzzer entry: `.mmt` text through the reader and a full checked run.
/// Built by Tests/Fuzz/fuzz.sh with -sanitize=fuzzer,address.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMMT(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let outcome = FuzzEntries.runTrace(Array(UnsafeBufferPointer(start: start, count: count)))
    // The checkers' verdicts are the point of fuzzing the whole run: a bug
    // traps, so libFuzzer keeps the input as a crash.
    if outcome.isBug { fatalError("fuzz input found a bug: \(outcome)") }
    return 0
}
