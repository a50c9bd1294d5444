import Testing

@testable import OccupantCore

@Suite struct DocumentReaderTests {
    @Test func reportsUnknownKeysWithLineAndSuggestion() throws {
        let reader = DocumentReader(text: "name: x\ntreshold: 3\n", source: "f.yaml", code: .configuration)
        let map = try #require(reader.root?.mapping(allowed: ["name", "threshold"]))
        #expect(map["name"]?.string() == "x")
        #expect(
            reader.issues == [
                DocumentIssue(path: "treshold", line: 2, message: "unknown key 'treshold' (did you mean 'threshold'?)")
            ])
        #expect(throws: DocumentErrors.self) { try reader.finish() }
    }

    @Test func reportsEveryProblemNotJustTheFirst() {
        let reader = DocumentReader(text: "a: abc\nb: 25h5\nc: [1, 2]\n", source: "f.yaml", code: .configuration)
        let map = reader.root?.mapping(allowed: ["a", "b", "c", "d"])
        _ = map?["a"]?.double()
        _ = map?["b"]?.duration()
        _ = map?["c"]?.string()
        _ = map?.required("d")
        #expect(reader.issues.map(\.path) == ["a", "b", "c", "d"])
        let text = DocumentErrors(code: .configuration, source: "f.yaml", issues: reader.issues).description
        #expect(text.split(separator: "\n").count == 4)
        #expect(text.contains("f.yaml:1: a: expected a number, got 'abc'"))
    }

    @Test func syntaxErrorsNameTheLine() {
        let reader = DocumentReader(text: "a: [1, 2\nb: 3\n", source: "bad.yaml", code: .profile)
        #expect(reader.root == nil)
        #expect(reader.issues.count == 1)
        #expect(reader.issues.first?.message.hasPrefix("not valid YAML") == true)
        #expect(reader.issues.first?.line != nil)
    }

    @Test(arguments: [("250ms", 0.25), ("15s", 15.0), ("10m", 600.0), ("1h", 3600.0), ("2", 2.0), ("1.5s", 1.5)])
    func parsesDurations(text: String, seconds: Double) {
        #expect(parseDuration(text) == seconds)
    }

    @Test(arguments: ["", "-1s", "abc", "10 parsecs", "nan"])
    func rejectsBadDurations(text: String) {
        #expect(parseDuration(text) == nil)
    }

    @Test func parsesHexAndBinaryNumbers() {
        #expect(parseNumber("0x44") == 68)
        #expect(parseNumber("0b101") == 5)
        #expect(parseNumber("-45") == -45)
        #expect(parseNumber("1e3") == 1000)
        #expect(parseNumber("0xZZ") == nil)
    }
}
