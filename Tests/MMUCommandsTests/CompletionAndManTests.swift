import Foundation
import Testing
@testable import MMUCommands

/// The package root, from this file's place in it (Tests/MMUCommandsTests/).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

@Suite("Shell completions and the manual page, made from the command declarations")
struct CompletionAndManTests {
    @Test("the bash script names every command and every option of each")
    func bashNamesEverything() {
        let script = mmusim(["completion", "bash"])
        #expect(script.status == 0 && script.err.isEmpty)
        for command in Tool.commands {
            let head = "        \(command.name))\n"
            guard let start = script.out.range(of: head), let end = script.out.range(of: "            ;;\n", range: start.upperBound..<script.out.endIndex) else {
                Issue.record("no case for \(command.name)")
                continue
            }
            let words = Set(script.out[start.upperBound..<end.lowerBound].split { " \"()\n;".contains($0) }.map(String.init))
            for option in command.allOptions {
                #expect(words.contains(option.name), "\(command.name) \(option.name) is missing")
            }
        }
        #expect(script.out.contains("complete -o default -F _mmusim mmusim"))
    }

    @Test("bash -n accepts the bash script")
    func bashParses() throws {
        let directory = try temporaryDirectory(["mmusim.bash": mmusim(["completion", "bash"]).out])
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-n", directory + "/mmusim.bash"]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        process.waitUntilExit()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(message)")
    }

    @Test("the bash script completes a command, an option, a preset and a configuration key")
    func bashCompletes() throws {
        let directory = try temporaryDirectory(["mmusim.bash": mmusim(["completion", "bash"]).out])
        func complete(_ words: [String]) throws -> [String] {
            let quoted = words.map { "'\($0)'" }.joined(separator: " ")
            let program = "source \(directory)/mmusim.bash; COMP_WORDS=(\(quoted)); COMP_CWORD=\(words.count - 1); "
                + "_mmusim; printf '%s\\n' \"${COMPREPLY[@]}\""
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/bash")
            process.arguments = ["-c", program]
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            process.waitUntilExit()
            return String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                .split(separator: "\n").map(String.init)
        }
        #expect(try complete(["mmusim", "comp"]) == ["compare", "completion"])
        #expect(try complete(["mmusim", "run", "--time"]) == ["--timeline", "--timeline-range"])
        #expect(try complete(["mmusim", "run", "--cpu", "zen"]) == ["zen3", "zen4"])
        #expect(try complete(["mmusim", "check", "--set", "cost.ipi."]) == ["cost.ipi.send=", "cost.ipi.latency=", "cost.ipi.handler="])
        #expect(try complete(["mmusim", "completion", "f"]) == ["fish"])
    }

    @Test("the zsh and fish scripts name every command and every option", arguments: ["zsh", "fish"])
    func otherShells(_ shell: String) {
        let script = mmusim(["completion", shell])
        #expect(script.status == 0)
        for command in Tool.commands {
            #expect(script.out.contains(command.name))
            for option in command.allOptions {
                let bare = String(option.name.drop { $0 == "-" })
                #expect(shell == "zsh" ? script.out.contains("'\(option.name)") || script.out.contains("'*\(option.name)")
                        : script.out.contains("-l \(bare) ") || script.out.contains("-s \(bare) "),
                        "\(shell): \(command.name) \(option.name) is missing")
            }
        }
    }

    @Test("completion refuses a shell it does not know")
    func unknownShell() {
        let result = mmusim(["completion", "tcsh"])
        #expect(result.status == 2)
        #expect(result.err.hasPrefix("mmusim completion: tcsh: unknown shell (bash, zsh or fish)"))
    }

    @Test("the manual page lists every command and every option, in roff")
    func manListsEverything() {
        let page = mmusim(["man"])
        #expect(page.status == 0 && page.err.isEmpty)
        #expect(page.out.contains(".TH MMUSIM 1"))
        for command in Tool.commands {
            #expect(page.out.contains(".SS \(ManCommand.text(command.name))\n"), "no section for \(command.name)")
            for option in command.allOptions {
                #expect(page.out.contains(".B \(ManCommand.text(option.name))\n") || page.out.contains(".BI \"\(ManCommand.text(option.name))"),
                        "\(command.name) \(option.name) is missing")
            }
        }
        #expect(!page.out.split(separator: "\n").contains { $0.hasPrefix("'") })
    }

    @Test("docs/mmusim.1 is the page mmusim man prints (MMUSIM_REGENERATE_DOCS=1 rewrites it)")
    func committedPage() throws {
        let url = packageRoot.appendingPathComponent("docs/mmusim.1")
        let generated = ManCommand.page()
        if ProcessInfo.processInfo.environment["MMUSIM_REGENERATE_DOCS"] == "1" {
            try generated.write(to: url, atomically: true, encoding: .utf8)
        }
        let committed = try String(contentsOf: url, encoding: .utf8)
        #expect(committed == generated,
                "docs/mmusim.1 is out of date; regenerate it with: MMUSIM_REGENERATE_DOCS=1 swift test --filter CompletionAndManTests")
    }
}
