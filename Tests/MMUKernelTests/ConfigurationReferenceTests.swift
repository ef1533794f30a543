import Foundation
import Testing
import MMUKernel

/// The package root, found from this file's place in it (Tests/MMUKernelTests/).
private let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

private let referencePath = packageRoot.appendingPathComponent("docs/reference/configuration.md")
private let beginMarker = "<!-- generated: configuration keys -->\n"
private let endMarker = "<!-- end generated -->"
private let regenerate = "MMUSIM_REGENERATE_DOCS=1 swift test --filter ConfigurationReferenceTests"

@Suite("The configuration reference in docs/reference/configuration.md")
struct ConfigurationReferenceTests {
    @Test("the table in the reference is exactly the one the declarations give")
    func tableMatchesDeclarations() throws {
        let text = try String(contentsOf: referencePath, encoding: .utf8)
        let begin = try #require(text.range(of: beginMarker), "no '\(beginMarker)' marker in \(referencePath.path)")
        let end = try #require(text.range(of: endMarker, range: begin.upperBound..<text.endIndex),
                               "no '\(endMarker)' marker after the begin marker in \(referencePath.path)")
        let inFile = String(text[begin.upperBound..<end.lowerBound])
        let generated = ConfigurationKey.referenceTable()
        if inFile != generated, ProcessInfo.processInfo.environment["MMUSIM_REGENERATE_DOCS"] == "1" {
            let updated = String(text[..<begin.upperBound]) + generated + String(text[end.lowerBound...])
            try updated.write(to: referencePath, atomically: true, encoding: .utf8)
            return
        }
        #expect(inFile == generated, "\(referencePath.path) is out of date; regenerate it with: \(regenerate)")
    }

    @Test("the table has a row for every key, in declaration order")
    func tableRowsFollowDeclarations() {
        let rows = ConfigurationKey.referenceTable().split(separator: "\n").dropFirst(2)
        let names = rows.map { row in row.split(separator: "|")[0].trimmingCharacters(in: .whitespaces) }
        #expect(names == Configuration.keys.map { "`\($0)`" })
    }

    @Test("every source tag a key cites is a reference listed in docs/cost-model.md")
    func sourceTagsAreReferences() throws {
        let costModel = try String(contentsOf: packageRoot.appendingPathComponent("docs/cost-model.md"), encoding: .utf8)
        let tagPattern = /\[([A-Za-z0-9-]+)\]/
        var cited = 0
        for key in Configuration.declarations {
            for match in key.source.matches(of: tagPattern) {
                cited += 1
                #expect(costModel.contains("**[\(match.1)]**"), "\(key.name) cites [\(match.1)], which docs/cost-model.md does not list")
            }
        }
        #expect(cited >= Configuration.declarations.count / 2)
    }
}
