import Foundation

/// The generated sections of the pages in docs/reference/: a table between a
/// begin marker and `<!-- end generated -->` that a test keeps equal to what
/// the declarations give, rewriting it when `MMUSIM_REGENERATE_DOCS=1`.
public enum GeneratedDocs {
    /// The package root, found from this file's place in it (Tests/TestSupport/).
    public static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// The marker that ends every generated section.
    public static let endMarker = "<!-- end generated -->"

    /// A page whose markers are missing or out of order.
    public struct MarkerMissing: Error, CustomStringConvertible {
        public var description: String
    }

    /// One page's generated section: the page (relative to the package root),
    /// the line that begins the section, and the test that checks it.
    public struct Section: Sendable {
        public let page: String, beginMarker: String, testFilter: String

        public init(page: String, beginMarker: String, testFilter: String) {
            (self.page, self.beginMarker, self.testFilter) = (page, beginMarker, testFilter)
        }

        /// Compares the section with `generated`. Returns nil when they are
        /// equal, or when they differ and `MMUSIM_REGENERATE_DOCS=1`, in which
        /// case the section is rewritten; otherwise the message saying the page
        /// is out of date and how to regenerate it.
        public func drift(from generated: String) throws -> String? {
            let url = packageRoot.appendingPathComponent(page)
            let text = try String(contentsOf: url, encoding: .utf8)
            guard let begin = text.range(of: beginMarker + "\n") else {
                throw MarkerMissing(description: "no '\(beginMarker)' line in \(url.path)")
            }
            guard let end = text.range(of: endMarker, range: begin.upperBound..<text.endIndex) else {
                throw MarkerMissing(description: "no '\(endMarker)' after '\(beginMarker)' in \(url.path)")
            }
            guard text[begin.upperBound..<end.lowerBound] != generated else { return nil }
            if ProcessInfo.processInfo.environment["MMUSIM_REGENERATE_DOCS"] == "1" {
                let updated = text[..<begin.upperBound] + generated + text[end.lowerBound...]
                try updated.write(to: url, atomically: true, encoding: .utf8)
                return nil
            }
            return "\(url.path) is out of date; regenerate it with: MMUSIM_REGENERATE_DOCS=1 swift test --filter \(testFilter)"
        }
    }
}
