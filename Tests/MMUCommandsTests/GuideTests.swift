import Foundation
import Testing
@testable import MMUCommands

/// One `$ mmusim ...` line of a guide and the output shown after it.
struct GuideCommand: CustomStringConvertible, Sendable {
    var page: String
    var line: Int
    var arguments: [String]
    var expected: [String]
    var description: String { "\(page):\(line)" }
}

/// Every command of the guides' `console` blocks, in page order.
func guideCommands() -> [GuideCommand] {
    var commands: [GuideCommand] = []
    for page in repositoryFiles(under: "docs/guides").filter({ $0.hasSuffix(".md") }) {
        guard let text = try? String(contentsOf: packageRoot.appendingPathComponent(page), encoding: .utf8) else { continue }
        var inConsole = false
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.hasPrefix("```") {
                inConsole = !inConsole && line == "```console"
                continue
            }
            guard inConsole else { continue }
            if line.hasPrefix("$ mmusim ") {
                let arguments = line.dropFirst("$ mmusim ".count).split(separator: " ").map(String.init)
                commands.append(GuideCommand(page: page, line: index + 1, arguments: arguments, expected: []))
            } else if !commands.isEmpty {
                commands[commands.count - 1].expected.append(String(line))
            }
        }
    }
    return commands
}

/// Whether `actual` matches `expected`, where a `...` line stands for any lines.
func matches(_ actual: ArraySlice<String>, _ expected: ArraySlice<String>) -> Bool {
    guard let first = expected.first else { return actual.isEmpty }
    if first == "..." {
        return (actual.startIndex...actual.endIndex).contains { matches(actual[$0...], expected.dropFirst()) }
    }
    guard let head = actual.first, head == first else { return false }
    return matches(actual.dropFirst(), expected.dropFirst())
}

@Suite("The guides' commands print what the guides show", .serialized)
struct GuideTests {
    @Test("each guide has commands to run", arguments: ["fault-path.md", "shootdown-costs.md", "validate-fixtures.md"])
    func guidesHaveCommands(_ name: String) {
        #expect(guideCommands().contains { $0.page == "docs/guides/" + name })
    }

    @Test("a guide command prints exactly the output shown under it", arguments: guideCommands())
    func commandOutput(_ command: GuideCommand) {
        // The guides' paths are relative to the repository's root.
        #expect(FileManager.default.changeCurrentDirectoryPath(packageRoot.path))
        let result = mmusim(command.arguments)
        var actual = (result.out + result.err).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if actual.last == "" { actual.removeLast() }
        #expect(matches(actual[...], command.expected[...]),
                "\(command): mmusim \(command.arguments.joined(separator: " ")) printed:\n\(actual.joined(separator: "\n"))")
    }

    @Test("the matcher takes ... for any lines and nothing else")
    func matcher() {
        #expect(matches(["a", "b", "c"], ["a", "...", "c"]))
        #expect(matches(["a", "c"], ["a", "...", "c"]))
        #expect(!matches(["a", "b", "c"], ["a", "c"]))
        #expect(!matches(["a", "b"], ["a", "...", "c"]))
    }
}
