import Testing
@testable import MMUHardware

@Suite("PageFaultErrorCode")
struct PageFaultErrorCodeTests {
    /// SDM vol. 3A figure 4-12.
    @Test("each error-code bit sits at its SDM bit", arguments: [
        (PageFaultErrorCode.protection, 0), (.write, 1), (.user, 2), (.reservedBit, 3), (.instructionFetch, 4),
    ])
    func eachBitSitsAtItsPosition(code: PageFaultErrorCode, bit: Int) {
        #expect(code.rawValue == UInt32(1) << UInt32(bit))
    }
}
