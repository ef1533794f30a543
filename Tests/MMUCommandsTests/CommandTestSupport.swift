import Foundation
@testable import MMUCommands

/// Runs `mmusim ARGS` in-process and captures what it prints.
func mmusim(_ arguments: [String]) -> (status: Int32, out: String, err: String) {
    final class Box: @unchecked Sendable { var out = "", err = "" }
    let box = Box()
    let status = Tool.main(arguments, console: Console(out: { box.out += $0 }, err: { box.err += $0 }))
    return (status, box.out, box.err)
}

/// A new temporary directory holding `files` (name: contents).
func temporaryDirectory(_ files: [String: String] = [:]) throws -> String {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mmusim-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    for (name, text) in files {
        try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }
    return directory.path
}
