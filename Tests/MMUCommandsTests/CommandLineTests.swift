import Foundation
import Testing
@testable import MMUCommands

@Suite("Help, version and option errors, derived from the declarations")
struct CommandLineTests {
    static let names = Tool.commands.map(\.name)

    @Test("every command's --help exits 0 and lists each declared option and argument", arguments: names)
    func helpOption(_ name: String) throws {
        let declaration = try #require(Tool.commands.first { $0.name == name })
        for flag in ["--help", "-h"] {
            let result = mmusim([name, flag])
            #expect(result.status == 0)
            #expect(result.err.isEmpty)
            #expect(result.out.hasPrefix("usage: mmusim \(name)"))
            for option in declaration.allOptions {
                #expect(result.out.contains("\n  \(option.synopsis) ") || result.out.contains("\n  \(option.synopsis)\n"),
                        "\(name) --help lacks \(option.synopsis)")
            }
            for argument in declaration.arguments {
                #expect(result.out.contains("\n  \(argument.name)"), "\(name) --help lacks \(argument.name)")
            }
        }
    }

    @Test("every usage line wraps within 100 columns, continuation lines aligned after the command", arguments: names)
    func usageWraps(_ name: String) throws {
        let declaration = try #require(Tool.commands.first { $0.name == name })
        let lines = declaration.usageLine.split(separator: "\n")
        #expect(lines.allSatisfy { $0.count <= 100 }, "\(lines)")
        let indent = String(repeating: " ", count: "usage: mmusim \(name) ".count)
        #expect(lines.dropFirst().allSatisfy { $0.hasPrefix(indent) && !$0.dropFirst(indent.count).hasPrefix(" ") })
        #expect(lines.joined().filter { $0 == "[" }.count >= declaration.options.count)
    }

    @Test("help COMMAND prints what COMMAND --help prints", arguments: names)
    func helpCommand(_ name: String) {
        let viaHelp = mmusim(["help", name])
        #expect(viaHelp.status == 0 && viaHelp.err.isEmpty)
        #expect(viaHelp.out == mmusim([name, "--help"]).out)
    }

    @Test("--help wins wherever it stands, even after a bad option")
    func helpAnywhere() {
        let result = mmusim(["run", "x.mmt", "--fast", "--help"])
        #expect(result.status == 0 && result.out.hasPrefix("usage: mmusim run TRACE"))
    }

    @Test("help alone, --help and -h print the overview naming every command")
    func overview() {
        for arguments in [["help"], ["--help"], ["-h"]] {
            let result = mmusim(arguments)
            #expect(result.status == 0 && result.err.isEmpty, "\(arguments)")
            #expect(result.out == Tool.overview)
        }
        for name in Self.names { #expect(Tool.overview.contains("\n  \(name) ")) }
    }

    @Test("no arguments prints the overview on standard error and exits 2")
    func noArguments() {
        let result = mmusim([])
        #expect(result.status == 2 && result.out.isEmpty && result.err == Tool.overview)
    }

    @Test("--version prints the version from its one constant")
    func versionFlag() {
        let result = mmusim(["--version"])
        #expect(result.status == 0 && result.err.isEmpty)
        #expect(result.out == "mmusim \(version)\n")
        #expect(!version.isEmpty && version.allSatisfy { $0.isNumber || $0 == "." })
        let extra = mmusim(["--version", "now"])
        #expect(extra.status == 2 && extra.out.isEmpty && extra.err == "mmusim: now: unexpected argument after --version\n")
    }

    @Test("an unknown command or help topic is named, exit 2, nothing on standard output")
    func unknownCommand() {
        let list = "run, check, compare, sweep, plot, scenario, calibrate, cpus, config, keys, statistics, help, completion, man"
        for arguments in [["frobnicate"], ["help", "frobnicate"]] {
            let result = mmusim(arguments)
            #expect(result.status == 2 && result.out.isEmpty, "\(arguments)")
            #expect(result.err == "mmusim: frobnicate: unknown command (\(list))\n", "\(arguments)")
        }
        let option = mmusim(["--fast"])
        #expect(option.status == 2 && option.out.isEmpty && option.err == "mmusim: --fast: unknown option (mmusim help lists the commands)\n")
    }

    /// Option errors on several commands: the arguments, then the exact message.
    static let refusals: [(arguments: [String], message: String)] = [
        (["run", "--fast", "x.mmt"], "mmusim run: --fast: unknown option"),
        (["run", "x.mmt", "--quiet=yes"], "mmusim run: --quiet=yes: takes no value"),
        (["run", "x.mmt", "--cpu"], "mmusim run: --cpu: needs a value (--cpu NAME)"),
        (["run", "x.mmt", "--cpu=pentium"], "mmusim run: --cpu=pentium: unknown preset 'pentium' (skylake, icelake, zen3, zen4)"),
        (["run", "x.mmt", "--json="], "mmusim run: --json=: needs a file name"),
        (["run", "x.mmt", "--set"], "mmusim run: --set: needs a value (--set KEY=VALUE)"),
        (["run", "x.mmt", "--set", "cores"], "mmusim run: --set cores: takes KEY=VALUE"),
        (["run", "x.mmt", "--set=cores=0"], "mmusim run: --set=cores=0: cores 0 is out of range (1 to 1024)"),
        (["run", "x.mmt", "--timeline-range", "5:2"], "mmusim run: --timeline-range 5:2: takes FROM:TO (accesses, FROM < TO)"),
        (["check", "--events", "x.mmt"], "mmusim check: --events: unknown option"),
        (["check", "x.mmt", "--config"], "mmusim check: --config: needs a value (--config FILE)"),
        (["compare", "--shootdown", "ipi,magic", "x.mmt"], "mmusim compare: --shootdown ipi,magic: unknown strategy 'magic' (ipi, broadcast, deferred)"),
        (["compare", "--sweep", "nosuch=1,2", "x.mmt"], "mmusim compare: --sweep nosuch=1,2: takes KEY=V1,V2,... with a configuration key"),
        (["compare", "--sweep=cores=2,zero", "x.mmt"], "mmusim compare: --sweep=cores=2,zero: 'zero' is not a number (cores takes 1 to 1024)"),
        (["compare", "--sweep", "cores=", "x.mmt"], "mmusim compare: --sweep cores=: needs at least one value"),
        (["compare", "--scenario", "nosuch"], "mmusim compare: --scenario nosuch: unknown scenario 'nosuch' (threads-unmap, vm-threads-unmap, thp, vm-cow)"),
        (["compare", "--scenario", "threads-unmap", "--rounds", "0"], "mmusim compare: --rounds 0: takes a number from 1 to 100000"),
        (["scenario", "threads-unmap", "--cores", "2000"], "mmusim scenario: --cores 2000: takes a number from 1 to 1024"),
        (["scenario", "threads-unmap", "--rounds"], "mmusim scenario: --rounds: needs a value (--rounds N)"),
        (["calibrate", "--cpu", "pentium"], "mmusim calibrate: --cpu pentium: unknown preset 'pentium' (skylake, icelake, zen3, zen4)"),
        (["calibrate", "--write"], "mmusim calibrate: --write: needs a value (--write FILE)"),
        (["calibrate", "--bogus"], "mmusim calibrate: --bogus: unknown option"),
        (["calibrate", "now"], "mmusim calibrate: now: unexpected argument"),
        (["config", "--set", "tlb.l2.ways=5"], "mmusim config: --set tlb.l2.ways=5: tlb.l2.ways (5) must divide tlb.l2.entries (1536)"),
        (["keys", "--all"], "mmusim keys: --all: unknown option"),
        (["cpus", "extra"], "mmusim cpus: extra: unexpected argument"),
        (["help", "run", "check"], "mmusim help: check: unexpected argument"),
    ]

    @Test("an option error names the option and the argument as written, exits 2 and prints nothing on standard output",
          arguments: 0..<refusals.count)
    func optionError(_ index: Int) {
        let (arguments, message) = Self.refusals[index]
        let result = mmusim(arguments)
        #expect(result.status == 2)
        #expect(result.out.isEmpty)
        #expect(result.err == message + "\n")
    }

    @Test("-- ends the options: a trace named like an option is read as a trace")
    func endOfOptions() throws {
        let directory = try temporaryDirectory(["--odd.mmt": "process 1\nswitch 0 1\nmap 0 0x1000 1 rw\nw 0 0x1000 7\n"])
        let result = mmusim(["run", "--quiet", "--", directory + "/--odd.mmt"])
        #expect(result.status == 0 && result.out.hasPrefix("accesses"))
    }

    @Test("no trace, or .mmt traces among several, are refused with the command's usage line")
    func positionals() {
        let result = mmusim(["run", "a.mmt", "b.mmt"])
        #expect(result.status == 2 && result.out.isEmpty)
        #expect(result.err.hasPrefix("mmusim run: a.mmt: an .mmt trace runs alone; only streamed traces (lackey, champsim) run several at once\nusage: mmusim run TRACE... "))
        let none = mmusim(["run", "--quiet"])
        #expect(none.status == 2 && none.err.hasPrefix("mmusim run: name a trace\nusage: mmusim run TRACE... "))
        let stdinTwice = mmusim(["run", "--format", "lackey", "-", "-"])
        #expect(stdinTwice.status == 2 && stdinTwice.err.hasPrefix("mmusim run: -: standard input can be named once"))
    }

    @Test("Tool.main runs a bundled fixture end to end")
    func fixtureEndToEnd() throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/04-cow-copy.mmt").path
        let run = mmusim(["run", fixture])
        #expect(run.status == 0 && run.err.isEmpty)
        #expect(run.out.split(separator: "\n").contains { $0.hasPrefix("faults.cow_copy") })
        let check = mmusim(["check", "--cpu", "zen3", fixture])
        #expect(check.out.hasPrefix("ok    \(fixture) (") || check.out.contains("FAIL  \(fixture)"))
        let plain = mmusim(["check", fixture])
        #expect(plain.status == 0 && plain.out.hasSuffix(" failed\n") && plain.out.hasPrefix("ok    \(fixture)"))
    }
}

@Suite("The option parser")
struct OptionParserTests {
    static let count = Option<Int>("--count", value: "N", help: "a number") { text in
        Int(text).map { .success($0) } ?? .failure(InvalidValue("not a number"))
    }
    static let tag = Option<String>("--tag", value: "WORD", help: "repeatable", completion: .text)
    static let loud = Option<Bool>(flag: "--loud", help: "a flag")
    static let declarations = [count.declaration, tag.declaration, loud.declaration]

    @Test("values are read separate or attached, the last counts, flags are seen, and positionals keep their order")
    func parses() throws {
        let parsed = try OptionParser.parse(["a", "--count", "3", "-", "--count=4", "--loud", "b", "--tag=x", "--tag", "y"],
                                            options: Self.declarations).get()
        #expect(parsed.positionals == ["a", "-", "b"])
        #expect(parsed.value(Self.count) == 4)
        #expect(parsed.values(Self.count) == [3, 4])
        #expect(parsed.written(Self.count) == "--count=4")
        #expect(parsed.contains(Self.loud))
        #expect(parsed.values(Self.tag) == ["x", "y"])
    }

    @Test("a refused value names the argument as written, in either form")
    func refusals() {
        let separate = OptionParser.parse(["--count", "many"], options: Self.declarations)
        #expect(separate.failure == CommandLineError("--count many", "not a number"))
        let attached = OptionParser.parse(["--count=many"], options: Self.declarations)
        #expect(attached.failure == CommandLineError("--count=many", "not a number"))
        #expect(OptionParser.parse(["--loud=1"], options: Self.declarations).failure == CommandLineError("--loud=1", "takes no value"))
        #expect(OptionParser.parse(["--count"], options: Self.declarations).failure?.message == "--count: needs a value (--count N)")
    }

    @Test("the usage line marks repeatable and optional parts, and help aligns the options")
    func usageLine() {
        let declaration = CommandDeclaration(name: "demo", abstract: "A demonstration.",
                                             arguments: [ArgumentDeclaration("FILE", help: "files", repeats: true, optional: true)],
                                             options: Self.declarations)
        #expect(declaration.usageLine == "usage: mmusim demo [FILE...] [--count N] [--tag WORD] [--loud]")
        #expect(declaration.help.contains("\n  --loud      a flag\n"))
    }
}

extension Result {
    /// The error, or nil on success.
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
