import Testing

@testable import OccupantCore

/// The composer over the system libyaml: node tree, marks, anchors, and one-line errors with the line.
@Suite struct YAMLComposerTests {
    private func composeError(_ text: String) -> YAMLError? {
        composeError(bytes: Array(text.utf8))
    }

    private func composeError(bytes: [UInt8]) -> YAMLError? {
        do throws(YAMLError) {
            _ = try YAMLComposer.compose(bytes: bytes)
            return nil
        } catch {
            return error
        }
    }

    @Test func composesMappingsInDocumentOrderWithLines() throws {
        let root = try #require(try YAMLComposer.compose("b: 1\na:\n  - x\n  - 'y'\n"))
        guard case .mapping(let mapping) = root else {
            Issue.record("not a mapping: \(root)")
            return
        }
        #expect(mapping.map { $0.key.scalar?.string } == ["b", "a"])
        #expect(mapping[0].value.mark == YAMLNode.Mark(line: 1, column: 4))
        guard case .sequence(let list) = mapping[1].value else {
            Issue.record("not a list")
            return
        }
        #expect(list.mark.line == 3)
        #expect(list.map { $0.scalar?.string } == ["x", "y"])
        #expect(list.map { $0.scalar?.style } == [.plain, .singleQuoted])
        #expect(list[1].mark == YAMLNode.Mark(line: 4, column: 5))
    }

    @Test func syntaxErrorIsOneLineWithItsLine() throws {
        let error = try #require(composeError("a: 1\nb: 2\n  c: 3\n"))
        #expect(error.line == 3)
        #expect(error.message == "mapping values are not allowed in this context")
        #expect(!error.description.contains("\n"))

        let reader = DocumentReader(text: "a: 1\nb: 2\n  c: 3\n", source: "bad.yaml", code: .configuration)
        #expect(reader.root == nil)
        #expect(
            reader.issues == [
                DocumentIssue(
                    path: "", line: 3, message: "not valid YAML: mapping values are not allowed in this context")
            ])
    }

    @Test func unclosedFlowListNamesContextAndProblem() throws {
        let error = try #require(composeError("a: 1\nb: [1, 2\nc: 3\n"))
        #expect(error.message.hasPrefix("while parsing a flow sequence"), "\(error)")
        #expect(error.message.contains("did not find expected ',' or ']'"), "\(error)")
        #expect(error.line == 3, "\(error)")
    }

    @Test func aliasResolvesToTheAnchoredNode() throws {
        let reader = DocumentReader(
            text: "base: &b\n  speed: 2\n  seed: 7\nother: *b\nname: &n lab\ncopy: *n\n", source: "f.yaml",
            code: .configuration)
        let map = try #require(reader.root?.mapping(allowed: ["base", "other", "name", "copy"]))
        let other = try #require(map["other"]?.mapping(allowed: ["speed", "seed"]))
        #expect(other["speed"]?.double() == 2)
        #expect(other["seed"]?.int(in: 0...10) == 7)
        #expect(map["copy"]?.string() == "lab")
        #expect(reader.issues.isEmpty)
    }

    @Test func undefinedAliasIsOneLineNamingTheLine() throws {
        let error = try #require(composeError("a: 1\nb: *missing\n"))
        #expect(error == YAMLError(line: 2, message: "the alias '*missing' names no anchor defined before it"))
        // An alias inside its own anchor's node is not defined yet: no recursive documents.
        #expect(composeError("a: &x [1, *x]\n")?.line == 1)

        let reader = DocumentReader(text: "a: 1\nb: *missing\n", source: "f.yaml", code: .configuration)
        #expect(reader.issues.map(\.line) == [2])
        #expect(reader.issues.first?.message.hasPrefix("not valid YAML: the alias '*missing'") == true)
    }

    @Test func secondDocumentIsAnError() throws {
        let error = try #require(composeError("a: 1\n---\nb: 2\n"))
        #expect(error.line == 2)
        #expect(error.message.contains("single document"), "\(error)")
        // One document with explicit start and end markers is fine.
        #expect(composeError("---\na: 1\n...\n") == nil)
    }

    @Test func tabsAsIndentationAreAnErrorOnTheirLine() throws {
        let error = try #require(composeError("a:\n  b: 1\n\tc: 2\n"))
        #expect(error.line == 3, "\(error)")
        #expect(error.message.contains("found a tab character that violates indentation"), "\(error)")
        let first = try #require(composeError("a:\n\tb: 1\n"))
        #expect(first.line == 2, "\(first)")
        #expect(first.message == "while scanning for the next token found character that cannot start any token")
        let reader = DocumentReader(text: "a:\n\tb: 1\n", source: "f.yaml", code: .configuration)
        let text = DocumentErrors(code: .configuration, source: "f.yaml", issues: reader.issues).description
        #expect(!text.contains("\n"), "\(text)")
        #expect(text.contains("f.yaml:2: not valid YAML: while scanning for the next token"), "\(text)")
        // A tab inside a value is just text.
        #expect(try YAMLComposer.compose("a: x\ty\n")?.mappingValue("a") == "x\ty")
    }

    @Test func invalidUTF8IsReportedWithTheByteAndLine() throws {
        let error = try #require(composeError(bytes: Array("a: 1\nb: ".utf8) + [0xFF, 0x0A]))
        #expect(error.line == 2, "\(error)")
        #expect(error.message.contains("UTF-8"), "\(error)")
        #expect(error.message.contains("0xFF"), "\(error)")
        // A NUL byte is a control character libyaml refuses.
        #expect(composeError(bytes: Array("a: 1\n\nb: x".utf8) + [0x00])?.line == 3)
    }

    @Test func quotedNumbersStayText() throws {
        let reader = DocumentReader(
            text: "id: \"007\"\nversion: '1.10'\nport: 1883\nflag: \"off\"\n", source: "f.yaml", code: .configuration)
        let map = try #require(reader.root?.mapping(allowed: ["id", "version", "port", "flag"]))
        #expect(map["id"]?.string() == "007")
        #expect(map["version"]?.string() == "1.10")
        #expect(map["flag"]?.string() == "off")
        #expect(map["id"]?.node.scalar?.isQuoted == true)
        #expect(map["port"]?.node.scalar?.isQuoted == false)
        #expect(map["port"]?.int(in: 1...65535) == 1883)
        #expect(reader.issues.isEmpty)
    }

    @Test(arguments: ["", "# only a comment\n", "---\n", "--- # nothing\n...\n"])
    func emptyDocuments(text: String) throws {
        #expect(try YAMLComposer.compose(text) == nil)
        let reader = DocumentReader(text: text, source: "f.yaml", code: .configuration)
        #expect(reader.issues == [DocumentIssue(path: "", line: nil, message: "the document is empty")])
    }

    @Test func deepNestingIsRefused() throws {
        let error = try #require(composeError(String(repeating: "[", count: 100_000)))
        #expect(error == YAMLError(line: 1, message: "nested deeper than \(YAMLComposer.maximumDepth) levels"))
        let nested = String(repeating: "[", count: 50) + String(repeating: "]", count: 50)
        #expect(composeError(nested) == nil)
    }
}

extension YAMLNode {
    fileprivate func mappingValue(_ key: String) -> String? {
        guard case .mapping(let mapping) = self else { return nil }
        return mapping.first { $0.key.scalar?.string == key }?.value.scalar?.string
    }
}
