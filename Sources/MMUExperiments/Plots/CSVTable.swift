import MMUKernel

/// A CSV table read back (RFC 4180: quoted fields, doubled quotes): the
/// header and the rows, every row as long as the header.
public struct CSVTable: Hashable, Sendable {
    public var header: [String]
    public var rows: [[String]]

    public init(header: [String], rows: [[String]]) {
        self.header = header
        self.rows = rows
    }

    /// Parses `text` (from `file`, for messages).
    public static func parse(_ text: String, file: String) throws(ExperimentError) -> CSVTable {
        var records: [[String]] = []
        var record: [String] = []
        var field = ""
        var quoted = false
        var line = 1
        var iterator = text.makeIterator()
        var pending: Character? = nil
        func next() -> Character? {
            if let character = pending { pending = nil; return character }
            return iterator.next()
        }
        while let character = next() {
            if quoted {
                if character == "\"" {
                    if let following = next() {
                        if following == "\"" { field.append("\"") } else { quoted = false; pending = following }
                    } else {
                        quoted = false
                    }
                } else {
                    if character == "\n" { line += 1 }
                    field.append(character)
                }
                continue
            }
            switch character {
            case "\"" where field.isEmpty: quoted = true
            case ",": record.append(field); field = ""
            case "\n", "\r\n":
                record.append(field); field = ""
                records.append(record); record = []
                line += 1
            default: field.append(character)
            }
        }
        if quoted { throw ExperimentError(place: file, line: line, message: "unterminated quoted field") }
        if !field.isEmpty || !record.isEmpty { record.append(field); records.append(record) }
        guard let header = records.first else { throw ExperimentError(place: file, line: 1, message: "empty table") }
        for (offset, row) in records.dropFirst().enumerated() where row.count != header.count {
            throw ExperimentError(place: file, line: offset + 2, column: 1,
                                  message: "\(row.count) fields where the header has \(header.count)")
        }
        return CSVTable(header: header, rows: Array(records.dropFirst()))
    }

    public func column(_ name: String) -> Int? { header.firstIndex(of: name) }

    /// The columns that are not statistics: a cell's parameters.
    public var parameterColumns: [String] { header.filter { Statistic.named($0) == nil } }
}
