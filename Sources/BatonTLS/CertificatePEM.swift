import BatonOS
import SwiftASN1
import X509

/// Reads the PEM a user hands over (`cert add --cert/--key`) or the store holds, with one
/// message for each way it can be wrong. `what` names the input in messages ("the --cert
/// file", a store path).
enum CertificatePEM {
    /// A chain is a leaf and its intermediates; more than this is not a server's chain.
    static let maxChainLength = 10

    /// The certificates of a PEM chain, in order. A stored file holds its key too
    /// (`allowingKey`); a user's --cert file must not, lest the key was given by mistake.
    static func chain(_ bytes: [UInt8], what: String, allowingKey: Bool = false) throws(BatonError) -> [Certificate] {
        var documents = try documents(bytes, what: what, expecting: "CERTIFICATE")
        if allowingKey {
            documents.removeAll { $0.discriminator.hasSuffix("PRIVATE KEY") }
        } else if documents.contains(where: { $0.discriminator.hasSuffix("PRIVATE KEY") }) {
            throw BatonError(.invalidArgument, "\(what) holds a private key, not a certificate: give the certificate (chain) with --cert and the key with --key")
        }
        var chain: [Certificate] = []
        for (index, document) in documents.enumerated() {
            guard document.discriminator == "CERTIFICATE" else {
                throw BatonError(.invalidArgument, "\(what) holds a '\(document.discriminator)' block, not a certificate: give the PEM certificate chain (-----BEGIN CERTIFICATE-----)")
            }
            do {
                chain.append(try Certificate(derEncoded: document.derBytes))
            } catch {
                // swift-crypto refuses RSA keys under 2048 bits while the certificate is parsed.
                let reason = "\(error)".contains("incorrectParameterSize") ? "its public key is refused (RSA keys need 2048 bits or more)" : "\(error)"
                throw BatonError(.invalidArgument, "certificate \(index + 1) of \(what) cannot be read: \(reason)")
            }
        }
        guard chain.count <= maxChainLength else {
            throw BatonError(.invalidArgument, "\(what) holds \(chain.count) certificates; a server's chain is its certificate and a few intermediates (at most \(maxChainLength))")
        }
        return chain
    }

    /// The private key of a PEM file holding exactly one, and that block.
    static func key(_ bytes: [UInt8], what: String) throws(BatonError) -> (Certificate.PrivateKey, PEMDocument) {
        let documents = try documents(bytes, what: what, expecting: "PRIVATE KEY")
        let keys = documents.filter { $0.discriminator.hasSuffix("PRIVATE KEY") }
        if keys.isEmpty, documents.contains(where: { $0.discriminator == "CERTIFICATE" }) {
            throw BatonError(.invalidArgument, "\(what) holds a certificate, not a private key: give the key with --key and the certificate with --cert")
        }
        guard keys.count == 1, let document = keys.first else {
            throw BatonError(.invalidArgument, keys.isEmpty
                ? "\(what) holds no private key (-----BEGIN PRIVATE KEY-----)"
                : "\(what) holds \(keys.count) private keys: give the one key of the certificate")
        }
        if document.discriminator == "ENCRYPTED PRIVATE KEY" {
            throw BatonError(.invalidArgument, "\(what) holds an encrypted private key: decrypt it first (openssl pkey -in KEY -out KEY.plain), since the daemon starts unattended")
        }
        do {
            return (try Certificate.PrivateKey(pemDocument: document), document)
        } catch {
            throw BatonError(.invalidArgument, "the private key of \(what) cannot be read (RSA of 2048 bits or more, ECDSA P-256/P-384/P-521 and Ed25519 are supported): \(error)")
        }
    }

    /// Every PEM block of `bytes`, refusing empty input, binary (DER) input and text without
    /// a block.
    private static func documents(_ bytes: [UInt8], what: String, expecting label: String) throws(BatonError) -> [PEMDocument] {
        guard bytes.contains(where: { !isSpace($0) }) else {
            throw BatonError(.invalidArgument, "\(what) is empty")
        }
        guard let text = String(validating: bytes, as: UTF8.self), !text.contains("\u{0}") else {
            let convert = label == "CERTIFICATE" ? "openssl x509 -inform der -in FILE -out FILE.pem" : "openssl pkey -inform der -in FILE -out FILE.pem"
            throw BatonError(.invalidArgument, bytes.first == 0x30
                ? "\(what) is DER (binary), not PEM: convert it with '\(convert)'"
                : "\(what) is not PEM text (-----BEGIN \(label)-----)")
        }
        let documents: [PEMDocument]
        do {
            documents = try PEMDocument.parseMultiple(pemString: text)
        } catch {
            throw BatonError(.invalidArgument, "\(what) is not valid PEM: \(error)")
        }
        guard !documents.isEmpty else {
            throw BatonError(.invalidArgument, "\(what) holds no PEM block: expected -----BEGIN \(label)-----")
        }
        return documents
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    /// PEM text of a chain and a key, as the store writes them: the chain first, leaf first.
    static func text(chain: [Certificate], key: PEMDocument) throws -> String {
        var text = ""
        for certificate in chain {
            var serializer = DER.Serializer()
            try serializer.serialize(certificate)
            text += PEMDocument(type: "CERTIFICATE", derBytes: serializer.serializedBytes).pemString + "\n"
        }
        return text + key.pemString + "\n"
    }
}
