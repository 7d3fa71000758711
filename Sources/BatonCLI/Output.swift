import FoundationEssentials
import Glibc

/// Where a command's words go: results to stdout, progress and errors to stderr.
enum Output {
    static func result(_ line: String) {
        write(line + "\n", to: STDOUT_FILENO)
    }

    /// Progress and errors.
    static func progress(_ line: String) {
        write(line + "\n", to: STDERR_FILENO)
    }

    /// The whole text, retrying short writes (a pipe may take it in pieces).
    private static func write(_ text: String, to fd: Int32) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { return }
            bytes = bytes.dropFirst(written)
        }
    }

    /// Prints a value as JSON with snake_case keys, sorted for stable output.
    static func json<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
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
                index == row.count - 1 ? cell : cell + String(repeating: " ", count: max(0, widths[index] - cell.count))
            }
            result(cells.joined(separator: "  "))
        }
    }
}
