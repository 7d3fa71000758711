import BatonControl
import BatonOS
import Foundation

/// The certificate routes of the control API:
///   GET /v1/certificates, POST /v1/certificates (a CertificateAddRequest; answers a
///   CertificateAddReply), DELETE /v1/certificates/HOST, GET /v1/local-ca (a LocalCAInfo).
extension ControlRouter {
    static func isCertificateRoute(_ parts: [String]) -> Bool {
        parts.count >= 2 && parts[0] == "v1" && (parts[1] == "certificates" || parts[1] == "local-ca")
    }

    func routeCertificates(_ request: ControlRequest, _ parts: [String]) async throws -> ControlReply {
        guard let certificates else { throw BatonError(.unavailable, "this daemon serves no certificates") }
        switch (request.method, parts.count, parts[1]) {
        case ("GET", 2, "certificates"):
            return try Self.json(200, await certificates.list())
        case ("POST", 2, "certificates"):
            let body = try ControlJSON.decoder().decode(CertificateAddRequest.self, from: request.body)
            return try Self.json(201, try await certificates.add(body))
        case ("DELETE", 3, "certificates"):
            try await certificates.remove(host: parts[2].removingPercentEncoding ?? parts[2])
            return ControlReply(status: 204, body: Data())
        case ("GET", 2, "local-ca"):
            return try Self.json(200, try await certificates.authority())
        default:
            throw BatonError(.notFound, "no control route \(request.method) \(request.path)")
        }
    }
}
