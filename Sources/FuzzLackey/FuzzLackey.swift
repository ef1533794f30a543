import MMUFuzzing

/// libFuzzer entry: bytes through the Lackey reader and a full checked streamed run.
/// Built by Tests/Fuzz/fuzz.sh with -sanitize=fuzzer,address.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLackey(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let outcome = FuzzEntries.runLackey(Array(UnsafeBufferPointer(start: start, count: count)))
    if outcome.isBug { fatalError("fuzz input found a bug: \(outcome)") }
    return 0
}
