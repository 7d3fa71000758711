import BatonCommandLine
import BatonControl
import FoundationEssentials
import Glibc

/// Where a command's words go: results to stdout, progress and errors to stderr.
enum Output {
    static func result(_ line: String) {
        StandardStream.line(line, to: STDOUT_FILENO)
    }

    /// Progress and errors.
    static func progress(_ line: String) {
        StandardStream.line(line, to: STDERR_FILENO)
    }

    /// Prints a value as JSON with snake_case keys, sorted for stable output.
    static func json<T: Encodable>(_ value: T) throws {
        let encoder = ControlJSON.encoder()
        encoder.outputFormatting.insert(.prettyPrinted)
        let data = try encoder.encode(value)
        result(String(decoding: data, as: UTF8.self))
    }

    /// A plain table: one header row, columns padded to the widest cell.
    static func table(_ header: [String], _ rows: [[String]]) {
        let widths = header.indices.map { column in
            ([header] + rows).map { $0[column].count }.max() ?? 0
        }
        for row in [header] + rows {
            let cells = row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padded(widths[index])
            }
            result(cells.joined(separator: "  "))
        }
    }
}

extension String {
    /// The string with spaces after it up to `width` characters.
    func padded(_ width: Int) -> String { self + String(repeating: " ", count: max(0, width - count)) }
}
