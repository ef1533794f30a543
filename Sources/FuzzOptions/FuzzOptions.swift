import MMUFuzzing

/// libFuzzer entry: NUL-separated arguments through every command's option
/// parser. Built by Tests/Fuzz/fuzz.sh with -sanitize=fuzzer,address.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOptions(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let outcome = FuzzEntries.parseCommandLine(Array(UnsafeBufferPointer(start: start, count: count)))
    if outcome.isBug { fatalError("fuzz input found a bug: \(outcome)") }
    return 0
}
