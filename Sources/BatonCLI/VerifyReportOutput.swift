import BatonCommandLine
import BatonControl
import BatonOS
import Glibc

/// How the CLI shows a `--verify` report: a few lines on stderr, the SVG picture on request,
/// and exit status 1 with one `error:` line when a request failed or was answered non-2xx.
enum VerifyReportOutput {
    static func print(_ report: VerifyReport) {
        Output.progress("verify   \(report.requests) requests at \(report.rate)/s on \(report.path) over \(seconds(report.seconds)): \(report.failed) failed, \(report.non2xx) non-2xx")
        for (name, figures) in [("before", report.before), ("during", report.during), ("after", report.after)] where figures.requests > 0 {
            Output.progress("         \(name.padded(7)) \(String(figures.requests).padded(6)) requests  p50 \(ms(figures.p50))  p99 \(ms(figures.p99))")
        }
        var answered: [String: Int] = [:]
        for second in report.timeline { for (role, count) in second.answered { answered[role, default: 0] += count } }
        for version in report.versions {
            Output.progress("         \(version.role.padded(7)) \(String(answered[version.role] ?? 0).padded(6)) answered by \(shortDigest(version.digest)) on \(version.sandbox)")
        }
        if let other = answered["other"], other > 0 {
            Output.progress("         other   \(String(other).padded(6)) answered by the proxy itself (no sandbox)")
        }
    }

    /// Throws exit status 1 after one `error:` line when the load saw any failure.
    static func check(_ report: VerifyReport, app: String) throws {
        guard report.failed > 0 || report.non2xx > 0 else { return }
        let first = report.failures.first.map { " (first: \($0))" } ?? ""
        Output.progress("error: verify of \(app) saw \(report.failed) failed and \(report.non2xx) non-2xx of \(report.requests) requests\(first); the swap itself stands")
        throw CommandExit(status: 1)
    }

    /// Writes the report's picture to `path`, whole or not at all (a temporary file renamed).
    static func writeSVG(_ report: VerifyReport, title: String, to path: String) throws {
        let bytes = Array(VerifyTimelineSVG.draw(report, title: title).utf8)
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else { throw failure("cannot create \(temporary)") }
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                let error = failure("cannot write \(temporary)")
                close(fd)
                unlink(temporary)
                throw error
            }
            written += count
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            let error = failure("cannot write \(path)")
            unlink(temporary)
            throw error
        }
    }

    private static func failure(_ what: String) -> BatonError {
        BatonError(.invalidArgument, "\(what): \(String(cString: strerror(errno)))")
    }

    private static func ms(_ value: Double?) -> String {
        value.map { "\(($0 * 10).rounded() / 10) ms" } ?? "-"
    }

    private static func seconds(_ value: Double) -> String {
        "\((value * 10).rounded() / 10) s"
    }
}
