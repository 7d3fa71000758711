import Foundation

/// Real certificates for the HTTPS tests, made by the openssl command line in a directory of
/// their own: CAs, intermediates and leaves with the key types and dates a test asks for
/// (`openssl ca` with -startdate/-enddate for expired and not yet valid ones).
public final class TestPKI: Sendable {
    public enum KeyType: Sendable {
        case ecP256, ecP384, rsa2048, rsa1024, ed25519

        var genpkey: [String] {
            switch self {
            case .ecP256: ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
            case .ecP384: ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"]
            case .rsa2048: ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]
            case .rsa1024: ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"]
            case .ed25519: ["-algorithm", "ED25519"]
            }
        }
    }

    /// A certificate and key on disk.
    public struct Pair: Sendable {
        public let cert: String
        public let key: String

        public init(cert: String, key: String) {
            self.cert = cert
            self.key = key
        }
    }

    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    /// A self-signed CA (or, with `issuer`, an intermediate it signs).
    public func makeCA(_ name: String, issuer: Pair? = nil) throws -> Pair {
        let base = directory + "/" + Self.fileName(name)
        let key = try makeKey(base + ".key", .ecP256)
        let extensions = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n"
        if let issuer {
            try sign(csr: try request(key: key, subject: name, at: base), by: issuer, extensions: extensions, to: base + ".pem")
        } else {
            try Self.openssl(["req", "-x509", "-key", key, "-subj", "/CN=\(name)", "-days", "365",
                              "-out", base + ".pem", "-addext", "basicConstraints=critical,CA:TRUE",
                              "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        }
        return Pair(cert: base + ".pem", key: key)
    }

    /// A server certificate for `names` (subjectAltName DNS), signed by `issuer`, valid from
    /// `start` to `end` (openssl's YYYYMMDDHHMMSSZ; default: now for 90 days).
    public func makeLeaf(_ names: [String], issuer: Pair, keyType: KeyType = .ecP256, start: String? = nil, end: String? = nil,
                         subjectAltName: Bool = true, tag: String = "") throws -> Pair {
        let base = directory + "/" + Self.fileName((names.first ?? "leaf") + tag) + "-\(UUID().uuidString.prefix(6))"
        let key = try makeKey(base + ".key", keyType)
        var extensions = "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
        if subjectAltName { extensions += "subjectAltName=" + names.map { "DNS:" + $0 }.joined(separator: ",") + "\n" }
        try sign(csr: try request(key: key, subject: names.first ?? "leaf", at: base), by: issuer, extensions: extensions,
                 to: base + ".pem", start: start, end: end)
        return Pair(cert: base + ".pem", key: key)
    }

    /// The files' contents one after the other (a chain: leaf, then intermediates).
    public func concatenate(_ paths: [String], to name: String) throws -> String {
        let path = directory + "/" + name
        let text = try paths.map { try String(contentsOfFile: $0, encoding: .utf8) }.joined()
        try write(text, to: path)
        return path
    }

    /// `openssl x509 -fingerprint -sha256` of a PEM certificate: `AB:CD:…`.
    public static func fingerprint(_ cert: String) throws -> String {
        let output = try openssl(["x509", "-in", cert, "-noout", "-fingerprint", "-sha256"])
        return String(output.split(separator: "=", maxSplits: 1).last ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func makeKey(_ path: String, _ type: KeyType) throws -> String {
        try Self.openssl(["genpkey"] + type.genpkey + ["-out", path])
        return path
    }

    private func request(key: String, subject: String, at base: String) throws -> String {
        try Self.openssl(["req", "-new", "-key", key, "-subj", "/CN=\(subject)", "-out", base + ".csr"])
        return base + ".csr"
    }

    /// Signs with `openssl ca`, which takes any start and end dates (x509 -req only days from now).
    private func sign(csr: String, by issuer: Pair, extensions: String, to path: String, start: String? = nil, end: String? = nil) throws {
        let caDirectory = directory + "/ca-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: caDirectory, withIntermediateDirectories: true)
        try write("", to: caDirectory + "/index.txt")
        try write(String(format: "%016llX\n", UInt64.random(in: 1...UInt64.max >> 1)), to: caDirectory + "/serial")
        try write("""
            [ca]
            default_ca = test
            [test]
            database = \(caDirectory)/index.txt
            new_certs_dir = \(caDirectory)
            serial = \(caDirectory)/serial
            default_md = sha256
            default_days = 90
            policy = any
            unique_subject = no
            [any]
            commonName = supplied

            """, to: caDirectory + "/ca.cnf")
        try write(extensions, to: caDirectory + "/ext.cnf")
        var arguments = ["ca", "-batch", "-notext", "-config", caDirectory + "/ca.cnf", "-cert", issuer.cert, "-keyfile", issuer.key,
                         "-in", csr, "-out", path, "-extfile", caDirectory + "/ext.cnf"]
        if let start { arguments += ["-startdate", start] }
        if let end { arguments += ["-enddate", end] }
        try Self.openssl(arguments)
    }

    private func write(_ text: String, to path: String) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    private static func fileName(_ name: String) -> String {
        String(name.map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" ? $0 : "_" })
    }

    /// Runs openssl; throws with its stderr when it fails.
    @discardableResult
    public static func openssl(_ arguments: [String], input: String? = nil) throws -> String {
        try run("/usr/bin/openssl", arguments, input: input)
    }

    /// Runs `program` to its end; throws with its stderr when it exits non-zero.
    @discardableResult
    public static func run(_ program: String, _ arguments: [String], input: String? = nil) throws -> String {
        let result = try runCapturing(program, arguments, input: input)
        guard result.status == 0 else {
            throw ChildProcessError("\(program) \(arguments.joined(separator: " ")) exited \(result.status): \(result.stderr)")
        }
        return result.stdout
    }

    /// Runs `program` to its end: its status, stdout and stderr.
    public static func runCapturing(_ program: String, _ arguments: [String], input: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        let out = Pipe(), err = Pipe(), stdin = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input == nil ? FileHandle.nullDevice : stdin
        try process.run()
        if let input {
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try? stdin.fileHandleForWriting.close()
        }
        let stdoutData = LockedData()
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            stdoutData.set(out.fileHandleForReading.readDataToEndOfFile())
            done.signal()
        }
        let stderrData = err.fileHandleForReading.readDataToEndOfFile()
        done.wait()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdoutData.get(), as: UTF8.self), String(decoding: stderrData, as: UTF8.self))
    }
}

private final class LockedData: @unchecked Sendable {
    // Every access goes through `lock`.
    private let lock = NSLock()
    private var data = Data()
    func set(_ value: Data) { lock.withLock { data = value } }
    func get() -> Data { lock.withLock { data } }
}
