import Foundation
import Testing
@testable import MMUCommands

/// Every file of the repository under `directory` (relative paths), skipping
/// hidden entries other than `.ci` (the build, git and editor state).
func repositoryFiles(under directory: String = "") -> [String] {
    let manager = FileManager.default
    let url = directory.isEmpty ? packageRoot : packageRoot.appendingPathComponent(directory)
    guard let names = try? manager.contentsOfDirectory(atPath: url.path) else { return [] }
    var files: [String] = []
    for name in names.sorted() where !name.hasPrefix(".") || name == ".ci" {
        let path = directory.isEmpty ? name : directory + "/" + name
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: packageRoot.appendingPathComponent(path).path, isDirectory: &isDirectory) else { continue }
        if isDirectory.boolValue { files += repositoryFiles(under: path) } else { files.append(path) }
    }
    return files
}

/// The Markdown pages a reader is pointed at: the README, Fixtures/README.md and every page in docs/.
let markdownPages = ["README.md", "Fixtures/README.md"] + repositoryFiles(under: "docs").filter { $0.hasSuffix(".md") }

@Suite("The repository refers only to documents it holds")
struct RepositoryDocsTests {
    @Test("no file mentions a specification document the repository does not hold")
    func noMissingSpecification() throws {
        // Spelled in pieces so that this file does not match itself.
        let spec = "SP" + "EC"
        let phrases = [spec + ".md", spec + " section", spec + " §"]
        var found: [String] = []
        for path in repositoryFiles() {
            guard let data = FileManager.default.contents(atPath: packageRoot.appendingPathComponent(path).path),
                  !data.contains(0) else { continue }
            let text = String(decoding: data, as: UTF8.self)
            for phrase in phrases where text.contains(phrase) { found.append("\(path): \(phrase)") }
        }
        #expect(found.isEmpty, "\(found)")
        #expect(repositoryFiles().contains("Sources/MMUCommands/Tool.swift"), "the scan found the sources")
    }

    @Test("every relative link in the README and docs points to a file or directory that exists", arguments: markdownPages)
    func linksResolve(_ page: String) throws {
        let text = try String(contentsOf: packageRoot.appendingPathComponent(page), encoding: .utf8)
        let base = packageRoot.appendingPathComponent(page).deletingLastPathComponent()
        var inFence = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```") { inFence.toggle() }
            if inFence { continue }
            var rest = Substring(line)
            while let open = rest.range(of: "](") {
                let after = rest[open.upperBound...]
                guard let close = after.firstIndex(of: ")") else { break }
                let target = String(after[..<close])
                rest = after[close...]
                if target.contains("://") || target.hasPrefix("mailto:") || target.hasPrefix("#") || target.isEmpty { continue }
                let path = String(target.split(separator: "#", maxSplits: 1)[0])
                #expect(FileManager.default.fileExists(atPath: base.appendingPathComponent(path).path),
                        "\(page): link to \(target) does not resolve")
            }
        }
    }

    @Test("the README's synopsis names every command, and the README links the guides and the reference")
    func readmeSynopsis() throws {
        let text = try String(contentsOf: packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let use = try #require(text.range(of: "## Use"))
        let block = text[use.upperBound...].split(separator: "```", maxSplits: 2)
        let synopsis = try #require(block.count > 1 ? block[1] : nil)
        for command in Tool.commands {
            #expect(synopsis.contains("mmusim \(command.name)"), "the synopsis lacks mmusim \(command.name)")
        }
        for link in ["docs/reference/README.md", "docs/guides/fault-path.md", "docs/guides/shootdown-costs.md",
                     "docs/guides/validate-fixtures.md", "docs/images/timeline-cow-fault.png"] {
            #expect(text.contains("(\(link))"), "README does not link \(link)")
        }
    }
}
