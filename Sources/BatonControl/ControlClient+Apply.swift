import BatonOS
import FoundationEssentials

extension ControlClient {
    /// The apps `text` declares, parsed by the daemon; a mistake comes back as one
    /// `.invalidArgument` error whose message starts `FILE:LINE:COLUMN:`.
    public func parseApplyFile(file: String, text: String) throws -> ApplyFile {
        try decode(ApplyFile.self, try call("POST", "/v1/apply/parse",
                                            body: try ControlJSON.encoder().encode(ApplyParseRequest(file: file, text: text))))
    }
}
