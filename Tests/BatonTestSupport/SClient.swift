import Foundation

/// `openssl s_client` against a TLS server on 127.0.0.1: what a client sees of the handshake.
public enum SClient {
    public struct Handshake: Sendable {
        public let verified: Bool
        public let output: String
        /// The fingerprint of the certificate the server sent, `AB:CD:…`; nil when none.
        public let fingerprint: String?
    }

    /// Connects to 127.0.0.1:`port` naming `serverName` (no SNI when nil), trusting `caFile`.
    public static func handshake(port: Int, serverName: String?, caFile: String, directory: String) throws -> Handshake {
        var arguments = ["s_client", "-connect", "127.0.0.1:\(port)", "-CAfile", caFile, "-verify_return_error", "-showcerts"]
        if let serverName { arguments += ["-servername", serverName, "-verify_hostname", serverName] } else { arguments += ["-noservername"] }
        let result = try TestPKI.runCapturing("/usr/bin/openssl", arguments, input: "")
        let output = result.stdout + result.stderr
        let verified = result.status == 0 && output.contains("Verify return code: 0 (ok)")
        var fingerprint: String?
        if let begin = result.stdout.range(of: "-----BEGIN CERTIFICATE-----"),
            let end = result.stdout.range(of: "-----END CERTIFICATE-----", range: begin.upperBound..<result.stdout.endIndex) {
            let path = directory + "/served-\(UUID().uuidString.prefix(8)).pem"
            try String(result.stdout[begin.lowerBound..<end.upperBound] + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            fingerprint = try TestPKI.fingerprint(path)
            try? FileManager.default.removeItem(atPath: path)
        }
        return Handshake(verified: verified, output: output, fingerprint: fingerprint)
    }
}
