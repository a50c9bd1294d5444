import OccupantCore
import Testing

@testable import Gateway

/// The gateway configuration read through the libyaml composer: values as written, YAML mistakes on one line with
/// the file and line.
@Suite struct ConfigYAMLTests {
    @Test func quotedAndNumberLikeIdsStayAsWritten() throws {
        #expect(try GatewayConfig.parse(yaml: "gatewayId: \"007\"").gatewayID == "007")
        #expect(try GatewayConfig.parse(yaml: "gatewayId: '1e3'").gatewayID == "1e3")
        #expect(try GatewayConfig.parse(yaml: "gatewayId: 0x10").gatewayID == "0x10")
    }

    @Test func anchorsAndAliasesWork() throws {
        let config = try GatewayConfig.parse(yaml: "gatewayId: &id lab-1\ntopics: { prefix: *id }\n")
        #expect(config.gatewayID == "lab-1")
        #expect(config.topics.prefix == "lab-1")
    }

    @Test(arguments: [
        ("broker:\n  host: a\n\tport: 1883\n", "gateway.yaml:3: not valid YAML: "),
        ("broker: { host: a\ngatewayId: b\n", "gateway.yaml:2: not valid YAML: while parsing a flow mapping"),
        ("gatewayId: a\nbroker: *shared\n", "gateway.yaml:2: not valid YAML: the alias '*shared' names no anchor"),
        ("gatewayId: a\n---\ngatewayId: b\n", "gateway.yaml:2: not valid YAML: expected a single document"),
    ])
    func yamlMistakesAreOneLineWithTheLine(yaml: String, expected: String) {
        do {
            _ = try GatewayConfig.parse(yaml: yaml, source: "gateway.yaml")
            Issue.record("expected an error starting: \(expected)")
        } catch {
            #expect(error.description.hasPrefix(expected), "got: \(error.description)")
            #expect(!error.description.contains("\n"), "got: \(error.description)")
        }
    }
}
