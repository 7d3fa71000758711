import Logging

/// One JSON line per request through swift-log: time, host, method, path, status, bytes,
/// duration, target and request id. Nothing is formatted when the logger would drop it.
struct AccessLog: Sendable {
    let logger: Logger?

    var enabled: Bool {
        guard let logger else { return false }
        return logger.logLevel <= .info
    }

    struct Entry {
        var time: String
        var host: String
        var method: String
        var path: String
        var status: UInt
        var bytes: Int
        var durationMs: Double
        var target: String
        var requestID: String
    }

    func write(_ entry: Entry) {
        guard let logger else { return }
        var line = "{\"time\":\""
        line.reserveCapacity(256)
        line += entry.time
        line += "\",\"host\":"
        appendJSONString(entry.host, to: &line)
        line += ",\"method\":"
        appendJSONString(entry.method, to: &line)
        line += ",\"path\":"
        appendJSONString(entry.path, to: &line)
        line += ",\"status\":" + String(entry.status)
        line += ",\"bytes\":" + String(entry.bytes)
        let micros = Int((entry.durationMs * 1000).rounded())
        line += ",\"duration_ms\":" + String(micros / 1000) + "." + String(micros % 1000).leftPadded(to: 3)
        line += ",\"target\":"
        appendJSONString(entry.target, to: &line)
        line += ",\"request_id\":"
        appendJSONString(entry.requestID, to: &line)
        line += "}"
        logger.info(Logger.Message(stringLiteral: line))
    }
}

/// Appends `value` as a JSON string literal, escaping quotes, backslashes and control bytes.
func appendJSONString(_ value: String, to out: inout String) {
    out += "\""
    let needsEscape = value.utf8.contains { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }
    if !needsEscape {
        out += value
    } else {
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += "\\u00" + String(scalar.value, radix: 16).leftPadded(to: 2)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
    }
    out += "\""
}
