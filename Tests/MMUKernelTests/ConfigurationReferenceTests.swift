import Foundation
import Testing
import MMUKernel
import TestSupport

private let packageRoot = GeneratedDocs.packageRoot

private let reference = GeneratedDocs.Section(page: "docs/reference/configuration.md", beginMarker: "<!-- generated: configuration keys -->",
                                              testFilter: "ConfigurationReferenceTests")

@Suite("The configuration reference in docs/reference/configuration.md")
struct ConfigurationReferenceTests {
    @Test("the table in the reference is exactly the one the declarations give")
    func tableMatchesDeclarations() throws {
        let drift = try reference.drift(from: ConfigurationKey.referenceTable())
        #expect(drift == nil, Comment(rawValue: drift ?? ""))
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
