import FleetProtocol
import Testing

@Suite struct APITests {
    @Test(arguments: [
        ("gw-a", "gw-a"),
        ("küche", "k%C3%BCche"),
        ("room 1", "room%201"),
        ("a/b?c#d%", "a%2Fb%3Fc%23d%25"),
        ("A.Z_0~9", "A.Z_0~9"),
    ])
    func idsArePercentEncodedAsOnePathSegment(id: String, segment: String) {
        #expect(API.pathSegment(id) == segment)
        #expect(API.decodePathSegment(segment) == id)
        #expect(API.gatewayModel(id) == "/v1/gateways/\(segment)/model")
        #expect(API.gatewayTelemetry(id) == "/v1/gateways/\(segment)/telemetry")
    }

    @Test func malformedEscapesAreRefused() {
        #expect(API.decodePathSegment("50%") == nil)
        #expect(API.decodePathSegment("%zz") == nil)
        #expect(API.decodePathSegment("%C3") == nil) // half a UTF-8 sequence
    }

    @Test func urlsJoinBaseAndPath() {
        #expect(API.url("http://h:8080/", API.gatewayModel("g 1")) == "http://h:8080/v1/gateways/g%201/model")
        #expect(API.url("http://h:8080", API.models(scope: "office 2")) == "http://h:8080/v1/models?scope=office%202")
        #expect(API.models(scope: nil) == "/v1/models")
        #expect(API.retrain(scope: "office") == "/v1/scopes/office/retrain")
    }
}

@Suite struct TopicTests {
    @Test func gatewayTopicsAndTheirKinds() {
        let t = GatewayTopics(prefix: "occupant", gatewayID: "lobby 1", discoveryPrefix: "homeassistant")
        #expect(t.modelStatus == "occupant/lobby 1/model/status")
        #expect(t.modelAvailable == "occupant/lobby 1/model/available")
        #expect(t.monitor == "occupant/lobby 1/monitor")
        #expect(
            t.discovery(component: "binary_sensor", object: "occupancy")
                == "homeassistant/binary_sensor/occupant_lobby_1/occupancy/config")
        for kind in GatewayTopicKind.allCases {
            let topic = "occupant/lobby 1/\(kind.rawValue)"
            #expect(GatewayTopics.parse(topic, prefix: "occupant")?.gateway == "lobby 1")
            #expect(GatewayTopics.parse(topic, prefix: "occupant")?.kind == kind)
        }
        #expect(GatewayTopics.parse("occupant/g/model/other", prefix: "occupant") == nil)
        #expect(GatewayTopics.parse("other/g/telemetry", prefix: "occupant") == nil)
    }

    @Test func discoveryFilterForOneGatewayOrAll() {
        #expect(
            GatewayTopics.discoveryFilter(
                discoveryPrefix: "ha", component: "binary_sensor", object: "occupancy", gatewayID: "a b")
                == "ha/binary_sensor/occupant_a_b/occupancy/config")
        #expect(
            GatewayTopics.discoveryFilter(
                discoveryPrefix: "ha", component: "binary_sensor", object: "occupancy", gatewayID: nil)
                == "ha/binary_sensor/+/occupancy/config")
    }

    @Test func serverSubscriptions() {
        let t = ServerTopics(prefix: "occupant", shareGroup: "g1")
        #expect(
            t.subscriptions == [
                "$share/g1/occupant/+/telemetry", "$share/g1/occupant/+/labels", "occupant/+/model/status",
                "$share/g1/occupant/+/monitor",
            ])
        #expect(t.modelAvailable(gateway: "gw-a") == "occupant/gw-a/model/available")
        #expect(t.alerts == "occupant/alerts")
        #expect(ServerTopics(prefix: "p").shared(.telemetry) == "$share/occupant-server/p/+/telemetry")
    }
}
