import Testing

@testable import MQTT

@Suite struct OutboundQueueTests {
    func message(_ n: Int, _ topic: String = "t") -> MQTTMessage { MQTTMessage(topic: topic, text: "\(n)") }

    @Test func dropsOldestTelemetryFirst() async {
        var q = OutboundQueue(capacity: 3)
        q.push(message(1, "state"), priority: .state)
        q.push(message(2, "tele"), priority: .telemetry)
        q.push(message(3, "tele"), priority: .telemetry)
        let dropped = q.push(message(4, "state"), priority: .state)
        #expect(dropped == message(2, "tele"))
        #expect(q.entries.map(\.message.text) == ["1", "3", "4"])
        #expect(q.droppedTelemetry == 1)
    }

    @Test func keepsStateOverNewTelemetryWhenFullOfState() async {
        var q = OutboundQueue(capacity: 2)
        q.push(message(1), priority: .state)
        q.push(message(2), priority: .state)
        let dropped = q.push(message(3), priority: .telemetry)
        #expect(dropped == message(3))
        #expect(q.entries.map(\.message.text) == ["1", "2"])
        // A state message evicts the oldest state message.
        q.push(message(4), priority: .state)
        #expect(q.entries.map(\.message.text) == ["2", "4"])
        #expect(q.droppedState == 1)
    }

    @Test func keyedMessagesReplaceEachOther() async {
        var q = OutboundQueue(capacity: 10)
        q.push(message(1, "status"), priority: .state, key: "status")
        q.push(message(2), priority: .telemetry)
        q.push(message(3, "status"), priority: .state, key: "status")
        #expect(q.entries.map(\.message.text) == ["2", "3"])
    }

    @Test func neverExceedsCapacity() async {
        var q = OutboundQueue(capacity: 50)
        for i in 0..<10_000 { q.push(message(i), priority: i % 7 == 0 ? .state : .telemetry) }
        #expect(q.count == 50)
        #expect(q.droppedTelemetry + q.droppedState == 10_000 - 50)
        // Everything kept is state: 10,000 / 7 state messages outnumber the capacity.
        #expect(q.entries.allSatisfy { $0.priority == .state })
    }
}
