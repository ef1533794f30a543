import Testing
@testable import MMUHardware

@Suite("Translation")
struct TranslationTests {
    @Test("the physical address keeps the offset bits below the page size", arguments: [
        (PageSize.size4K, UInt64(0x5678), UInt64(0x567_8ABC)),
        (.size2M, 0x1200, 0x134_5ABC),
        (.size1G, 0xC0000, 0xD674_5ABC),
    ])
    func physicalAddressKeepsTheOffset(size: PageSize, frame: UInt64, expected: UInt64) {
        let translation = Translation(frame: FrameNumber(frame), size: size, rights: .all)
        #expect(translation.physicalAddress(of: VirtualAddress(0x0000_1274_5674_5ABC)).rawValue == expected)
    }
}
