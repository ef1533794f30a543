import MMUFuzzing

/// libFuzzer entry: a `--config` file through the reader, and back through
/// its rendering. Built by Tests/Fuzz/fuzz.sh with -sanitize=fuzzer,address.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let outcome = FuzzEntries.readConfigFile(Array(UnsafeBufferPointer(start: start, count: count)))
    if outcome.isBug { fatalError("fuzz input found a bug: \(outcome)") }
    return 0
}
