import BatonOS
@testable import BatonSandbox
import Foundation
import Testing

/// `sandbox.json` is written by hand on the start path and read with JSONDecoder by `exec`,
/// `ps` and the daemon: both sides must agree on every field.
@Suite struct SandboxRecordEncodingTests {
    static func decode(_ text: String) throws -> SandboxRecord {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(SandboxRecord.self, from: Data(text.utf8))
    }

    @Test func aFullRecordReadsBackEqual() throws {
        let record = SandboxRecord(
            id: "web-1", initProcess: ProcessIdentity(pid: 4_194_303, startTime: UInt64.max),
            cgroupPaths: ["/sys/fs/cgroup/memory/baton/web-1", "/sys/fs/cgroup/pids/baton/web-1"], userNamespace: true,
            environment: ["PATH=/usr/bin:/bin", "QUOTE=\"x\"", "NEWLINE=a\nb", "UNICODE=é🚀", "EMPTY="],
            artifactDigest: "sha256:" + String(repeating: "ab", count: 32))
        #expect(try Self.decode(record.json) == record)
    }

    @Test func aRecordWithoutOptionalPartsReadsBackEqual() throws {
        let record = SandboxRecord(id: "a", initProcess: ProcessIdentity(pid: 1, startTime: 0), cgroupPaths: [],
                                   userNamespace: false, environment: [])
        #expect(try Self.decode(record.json) == record)
        #expect(!record.json.contains("artifact_digest"))
    }

    @Test func theHandWrittenTextMatchesJSONEncoder() throws {
        let record = SandboxRecord(id: "x", initProcess: ProcessIdentity(pid: 7, startTime: 9), cgroupPaths: ["/c"],
                                   userNamespace: false, environment: ["A=1"], artifactDigest: "sha256:00")
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        #expect(record.json == String(decoding: try encoder.encode(record), as: UTF8.self))
    }
}
