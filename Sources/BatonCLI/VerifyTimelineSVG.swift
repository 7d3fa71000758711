import BatonControl
import BatonOS

/// Draws a `--verify` report as an SVG picture: responses per second stacked by the version
/// that answered (blue, green, other); errors (failed and non-2xx) per second in a red band of
/// their own below (a non-2xx answer is also in its version's bar, so drawn over it the red
/// would hide which version gave it); p99 latency at the bottom; the flip, blue's stop and a
/// flip back marked. Text from the report is escaped for XML.
enum VerifyTimelineSVG {
    static let width = 860.0
    static let left = 64.0, right = 24.0
    static let barsTop = 64.0, barsHeight = 170.0
    static let errorsTop = 258.0, errorsHeight = 40.0
    static let latencyTop = 322.0, latencyHeight = 98.0
    static let height = 470.0
    static let colors = ["blue": "#3b6fd4", "green": "#2f9e44", "other": "#9aa5b1"]
    static let errorColor = "#e03131"

    static func draw(_ report: VerifyReport, title: String) -> String {
        // The x axis is the run's real length: the last second is usually a part of one, and
        // its bar is as wide as that part, its height the rate over it.
        let total = max(report.seconds, 1)
        let slot = (width - left - right) / total
        func span(_ second: VerifySecond) -> Double { max(0.05, min(1, total - Double(second.second))) }
        let peak = report.timeline.map { Double($0.answered.values.reduce(0, +) + $0.failed) / span($0) }.max() ?? 0
        let rpsScale = niceCeiling(max(peak, 1))
        let p99Peak = niceCeiling(max(1, report.timeline.compactMap(\.p99).max() ?? 1))
        let errorPeak = report.timeline.map { Double($0.failed + $0.non2xx) / span($0) }.max() ?? 0
        let errorScale = niceCeiling(max(errorPeak, 1))
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(f(width))" height="\(f(height))" viewBox="0 0 \(f(width)) \(f(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="#ffffff"/>
            <text x="\(f(left))" y="22" font-size="15" font-weight="bold">\(escape(title))</text>
            <text x="\(f(left))" y="40" fill="#444">\(report.requests) requests at \(report.rate)/s on \(escape(report.path)): \(report.failed) failed, \(report.non2xx) non-2xx; p99 before \(ms(report.before.p99)), during \(ms(report.during.p99)), after \(ms(report.after.p99))</text>

            """
        // Axes and scale labels.
        svg += axis(top: barsTop, height: barsHeight, label: "responses / s", maximum: rpsScale, unit: "")
        svg += axis(top: errorsTop, height: errorsHeight, label: "failed or non-2xx / s", maximum: errorScale, unit: "")
        svg += axis(top: latencyTop, height: latencyHeight, label: "p99 latency", maximum: p99Peak, unit: " ms")
        for second in report.timeline {
            let x = left + Double(second.second) * slot
            let barWidth = f(max(1, span(second) * slot - 2))
            var y = barsTop + barsHeight
            for role in ["blue", "green", "other"] {
                let count = Double(second.answered[role] ?? 0)
                guard count > 0 else { continue }
                let h = count / span(second) / rpsScale * barsHeight
                y -= h
                svg += "<rect x=\"\(f(x + 1))\" y=\"\(f(y))\" width=\"\(barWidth)\" height=\"\(f(h))\" fill=\"\(colors[role]!)\"/>\n"
            }
            let errors = Double(second.failed + second.non2xx)
            if errors > 0 {
                let h = max(2, errors / span(second) / errorScale * errorsHeight)
                svg += "<rect x=\"\(f(x + 1))\" y=\"\(f(errorsTop + errorsHeight - h))\" width=\"\(barWidth)\" height=\"\(f(h))\" fill=\"\(errorColor)\" class=\"errors\"/>\n"
            }
        }
        let points = report.timeline.compactMap { second -> String? in
            guard let p99 = second.p99 else { return nil }
            let x = left + (Double(second.second) + span(second) / 2) * slot
            return "\(f(x)),\(f(latencyTop + latencyHeight - min(p99, p99Peak) / p99Peak * latencyHeight))"
        }
        if !points.isEmpty {
            svg += "<polyline points=\"\(points.joined(separator: " "))\" fill=\"none\" stroke=\"#7048e8\" stroke-width=\"2\"/>\n"
        }
        if let flip = report.flipAt { svg += marker(at: flip, slot: slot, label: "flip", row: 0, color: "#111") }
        if let stopped = report.blueStoppedAt { svg += marker(at: stopped, slot: slot, label: "blue stopped", row: 1, color: "#666") }
        if let back = report.flipBackAt { svg += marker(at: back, slot: slot, label: "flip back", row: 1, color: "#111") }
        // Whole seconds along the bottom.
        let step = max(1, Int((total / 10).rounded(.up)))
        for second in stride(from: 0, through: Int(total), by: step) {
            svg += "<text x=\"\(f(left + Double(second) * slot))\" y=\"\(f(latencyTop + latencyHeight + 16))\" text-anchor=\"middle\" fill=\"#444\">\(second)s</text>\n"
        }
        svg += legend(report)
        return svg + "</svg>\n"
    }

    private static func axis(top: Double, height: Double, label: String, maximum: Double, unit: String) -> String {
        let bottom = top + height
        return """
            <line x1="\(f(left))" y1="\(f(bottom))" x2="\(f(width - right))" y2="\(f(bottom))" stroke="#999"/>
            <line x1="\(f(left))" y1="\(f(top))" x2="\(f(left))" y2="\(f(bottom))" stroke="#999"/>
            <line x1="\(f(left))" y1="\(f(top))" x2="\(f(width - right))" y2="\(f(top))" stroke="#eee"/>
            <text x="\(f(left - 6))" y="\(f(top + 4))" text-anchor="end" fill="#444">\(number(maximum))\(unit)</text>
            <text x="\(f(left - 6))" y="\(f(bottom + 4))" text-anchor="end" fill="#444">0</text>
            <text x="\(f(left + 6))" y="\(f(top - 6))" fill="#444">\(label)</text>

            """
    }

    /// A dashed line at `time`, labelled on text row `row` (so close markers do not overlap).
    private static func marker(at time: Double, slot: Double, label: String, row: Int, color: String) -> String {
        let x = left + time * slot
        return """
            <line x1="\(f(x))" y1="\(f(barsTop - 4))" x2="\(f(x))" y2="\(f(latencyTop + latencyHeight))" stroke="\(color)" stroke-dasharray="5,4"/>
            <text x="\(f(x + 4))" y="\(f(barsTop + 12 + Double(row) * 15))" fill="\(color)" paint-order="stroke" stroke="#fff" stroke-width="3">\(label)</text>

            """
    }

    private static func legend(_ report: VerifyReport) -> String {
        var entries: [(String, String)] = report.versions.map { version in
            (colors[version.role] ?? colors["other"]!, "\(version.role) \(shortDigest(version.digest))")
        }
        entries.append((errorColor, "failed or non-2xx"))
        entries.append(("#7048e8", "p99 latency"))
        var svg = ""
        var x = left
        let y = height - 16
        for (color, text) in entries {
            svg += "<rect x=\"\(f(x))\" y=\"\(f(y - 10))\" width=\"12\" height=\"12\" fill=\"\(color)\"/>\n"
            svg += "<text x=\"\(f(x + 16))\" y=\"\(f(y))\">\(escape(text))</text>\n"
            x += 28 + Double(text.count) * 7.2
        }
        return svg
    }

    /// 1, 2 or 5 times a power of ten, at or above `value`.
    static func niceCeiling(_ value: Double) -> Double {
        var base = 1.0
        while base * 10 <= value { base *= 10 }
        while base > value && base > 0.001 { base /= 10 }
        for factor in [1.0, 2.0, 5.0, 10.0] where base * factor >= value { return base * factor }
        return base * 10
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for character in text.unicodeScalars {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            // XML 1.0 allows no other C0 control characters.
            case _ where character.value < 0x20 && character != "\t" && character != "\n": out += "?"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    private static func f(_ value: Double) -> String {
        let rounded = (value * 10).rounded() / 10
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }

    private static func number(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }

    private static func ms(_ value: Double?) -> String {
        value.map { "\(number(($0 * 10).rounded() / 10)) ms" } ?? "-"
    }
}
