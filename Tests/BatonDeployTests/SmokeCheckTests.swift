import BatonOS
import Testing

/// The smoke check grammar: what parses, how it is written back, and one clear error naming
/// the check for everything else.
@Suite struct SmokeCheckTests {
    @Test func parsesEachFormAndWritesItBackTheSameWay() throws {
        let plain = try SmokeCheck(parsing: "GET /healthz 200")
        #expect(plain == SmokeCheck(method: "GET", path: "/healthz", status: 200))
        let contains = try SmokeCheck(parsing: #"GET /api/items?limit=2 200 contains "items""#)
        #expect(contains.contains == "items")
        let json = try SmokeCheck(parsing: #"POST /api/echo 201 body {"a": [1, 2.5e3, "x\"y"], "b": null}"#)
        #expect(json.body == SmokeCheck.Body(text: #"{"a": [1, 2.5e3, "x\"y"], "b": null}"#, isJSON: true))
        let both = try SmokeCheck(parsing: #"  PUT   /v1/x  204 contains "a \"q\" \\ b"   body "plain text"  "#)
        #expect(both.contains == #"a "q" \ b"#)
        #expect(both.body == SmokeCheck.Body(text: "plain text", isJSON: false))
        for check in [plain, contains, json, both] {
            #expect(try SmokeCheck(parsing: check.description) == check, "\(check)")
        }
        #expect(both.description == #"PUT /v1/x 204 contains "a \"q\" \\ b" body "plain text""#)
    }

    @Test(arguments: [
        ("", "use METHOD PATH STATUS"),
        ("GET /x", "use METHOD PATH STATUS"),
        ("get /x 200", "unknown method 'get'"),
        ("GET x 200", "path 'x' must start with /"),
        ("GET /a#b 200", "path '/a#b' must start with /"),
        ("GET /x 20", "status '20' is not an HTTP status"),
        ("GET /x 600", "status '600' is not an HTTP status"),
        ("GET /x 200 contains items", "expected a double-quoted"),
        ("GET /x 200 contains \"items", "not closed"),
        ("GET /x 200 contains \"\"", "checks nothing"),
        ("GET /x 200 contains \"a\\nb\"", "only \\\" and \\\\ are escapes"),
        ("GET /x 200 contains \"a\"\"b\"", "a space must follow"),
        ("GET /x 200 body {}", "a GET request has no body"),
        ("POST /x 200 body {\"a\":}", "body must be a JSON object or array"),
        ("POST /x 200 body 42", "body must be a JSON object or array"),
        ("POST /x 200 body {} trailing", "body must be a JSON object or array"),
        ("POST /x 200 body \"a\" contains \"b\"", "unexpected 'contains'"),
        ("GET /x 200 contains \"a\" contains \"b\"", "unexpected 'contains'"),
        ("GET /x 200 expects", "unexpected 'expects'"),
        ("GET /x\u{1b}[2J 200", "control character"),
    ])
    func refusesABadCheckNamingIt(line: String, why: String) {
        do {
            let check = try SmokeCheck(parsing: line)
            Issue.record("'\(line)' parsed as \(check)")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message.hasPrefix("invalid smoke check '"), "\(error.message)")
            #expect(error.message.contains(why), "\(error.message)")
            #expect(!error.message.contains("\u{1b}"), "a control character is shown escaped")
        }
    }

    @Test func refusesOverlongPartsAndTooManyChecks() {
        #expect(throws: BatonError.self) { try SmokeCheck(parsing: "GET /" + String(repeating: "a", count: 5000) + " 200") }
        #expect(throws: BatonError.self) { try SmokeCheck(parsing: "GET /" + String(repeating: "a", count: 2048) + " 200") }
        #expect(throws: BatonError.self) {
            try SmokeCheck(parsing: "GET / 200 contains \"" + String(repeating: "a", count: 1025) + "\"")
        }
        #expect(throws: BatonError.self) {
            try SmokeCheck(parsing: "POST / 200 body " + String(repeating: "[", count: 100) + String(repeating: "]", count: 100))
        }
        #expect((try? SmokeCheck.parseAll(Array(repeating: "GET / 200", count: 32)))?.count == 32)
        #expect(throws: BatonError.self) { try SmokeCheck.parseAll(Array(repeating: "GET / 200", count: 33)) }
    }

    @Test func aSmokeFileSkipsBlankLinesAndComments() {
        let text = "# the API\nGET /healthz 200\r\n\n   # indented comment\n  GET /api 200 contains \"items\"  \n"
        #expect(SmokeCheck.fileLines(text) == ["GET /healthz 200", "GET /api 200 contains \"items\""])
    }
}
