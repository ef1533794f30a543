import MMUFuzzing

/// libFuzzer entry: bytes through the ChampSim reader and a full checked streamed run.
/// Built by Tests/Fuzz/fuzz.sh with -sanitize=fuzzer,address.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzChampSim(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let outcome = FuzzEntries.runChampSim(Array(UnsafeBufferPointer(start: start, count: count)))
    if outcome.isBug { fatalError("fuzz input found a bug: \(outcome)") }
    return 0
}
