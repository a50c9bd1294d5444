import Logging
import MQTT
import OccupantCore
import Synchronization

/// Everything the gateway sends to the broker goes through here: messages go to the client while it is connected
/// and into a bounded queue while it is not; on (re)connect the status, discovery and current state are sent first,
/// then the queue.
public final class GatewayPublisher: Sendable {
    public let connection: any MQTTConnection
    public let topics: GatewayTopics
    public let discovery: HomeAssistantDiscovery?
    public let edukitThing: String?
    /// `topics.occupancy`, built once (the topics are computed properties).
    private let occupancyTopic: String
    private let logger: Logger
    private let state: Mutex<State>

    struct State {
        var queue: OutboundQueue
        /// The last decision's payload, rewritten in place every decision (its capacity kept: no allocation while
        /// the message handed to the client does not outlive the publish); empty before the first one.
        var decision: [UInt8] = []
        var published = 0
        var offlineMessageID: Int32?
        var shuttingDown = false
        /// What a model status carries about the process and the spool, read when one is published.
        var statusFigures: (@Sendable () -> (spoolBacklog: Int?, process: MonitorDocument.Process))?
    }

    public init(
        connection: any MQTTConnection, topics: GatewayTopics, discovery: HomeAssistantDiscovery?, edukitThing: String?,
        queueLimit: Int, logger: Logger
    ) {
        self.connection = connection
        self.topics = topics
        self.discovery = discovery
        self.edukitThing = edukitThing
        self.occupancyTopic = topics.occupancy
        self.logger = logger
        self.state = Mutex(State(queue: OutboundQueue(capacity: queueLimit)))
    }

    /// Publishes a decision (retained) and, when enabled, the EduKit shadow document; `alert` is the "occupied too
    /// long" warning while it stands.
    public func publish(decision: Decision, sample: Sample, alert: String? = nil) {
        state.withLock { s in
            s.decision.removeAll(keepingCapacity: true)
            Payloads.writeDecision(decision, alert: alert, into: &s.decision)
            if let message = decisionMessage(s.decision) { send(message, priority: .state, key: nil, in: &s) }
            if let thing = edukitThing, let shadow = Payloads.edukitShadow(decision, sample: sample) {
                send(
                    MQTTMessage(topic: GatewayTopics.edukitShadow(thing: thing), text: shadow.serialized, qos: 1),
                    priority: .state, key: "edukit", in: &s)
            }
        }
    }

    /// Publishes the latest readings (not retained; dropped first when the broker is away).
    public func publish(telemetry sample: Sample) {
        let message = MQTTMessage(topic: topics.telemetry, text: Payloads.telemetry(sample).serialized, qos: 1)
        state.withLock { send(message, priority: .telemetry, key: nil, in: &$0) }
    }

    /// Publishes the model status (retained; the newest replaces a queued older one).
    public func publish(modelStatus: ModelStatusDocument) {
        var modelStatus = modelStatus
        // Read outside the lock: the spool takes its own.
        if let figures = state.withLock({ $0.statusFigures })?() {
            modelStatus.spoolBacklog = figures.spoolBacklog
            modelStatus.process = figures.process
        }
        guard let text = try? FleetJSON.text(modelStatus) else { preconditionFailure("a model status always encodes") }
        let message = MQTTMessage(topic: topics.modelStatus, text: text, qos: 1, retain: true)
        state.withLock { send(message, priority: .state, key: "modelStatus", in: &$0) }
    }

    /// Makes every model status carry these figures (the spool backlog, the process's CPU time and RSS), read at
    /// publish time: cheap, and only as often as a status is written.
    public func reportStatusFigures(
        _ figures: @escaping @Sendable () -> (spoolBacklog: Int?, process: MonitorDocument.Process)
    ) {
        state.withLock { $0.statusFigures = figures }
    }

    /// Publishes a monitor window (retained; the newest replaces a queued older one).
    public func publish(monitor: MonitorDocument) {
        guard let text = try? FleetJSON.text(monitor) else { preconditionFailure("a monitor document always encodes") }
        let message = MQTTMessage(topic: topics.monitor, text: text, qos: 1, retain: true)
        state.withLock { send(message, priority: .state, key: "monitor", in: &$0) }
    }

    /// Publishes a retained state document (Home Assistant attributes, select and update states); the newest replaces
    /// a queued older one on the same topic.
    public func publish(retained payload: JSON, on topic: String) {
        let text: String
        if case .string(let plain) = payload { text = plain } else { text = payload.serialized }
        let message = MQTTMessage(topic: topic, text: text, qos: 1, retain: true)
        state.withLock { send(message, priority: .state, key: topic, in: &$0) }
    }

    /// Publishes one ground-truth label (not retained; kept like a state change while the broker is away).
    public func publish(label: JSON) {
        let message = MQTTMessage(topic: topics.labels, text: label.serialized, qos: 1)
        state.withLock { send(message, priority: .state, key: nil, in: &$0) }
    }

    /// Called on every CONNACK: subscribe, announce, then flush what was queued.
    public func connected() {
        do {
            if discovery != nil { try connection.subscribe(topics.homeAssistantStatus, qos: 1) }
        } catch {
            logger.warning("cannot subscribe to Home Assistant status", metadata: ["error": "\(error)"])
        }
        state.withLock { s in
            _ = try? connection.publish(MQTTMessage(topic: topics.status, text: "online", qos: 1, retain: true))
            announce(includingState: false, in: &s)
            let pending = s.queue.drain()
            var failed: [OutboundQueue.Entry] = []
            for entry in pending {
                // Keep order: once one fails, the rest wait behind it.
                if !failed.isEmpty {
                    failed.append(entry)
                    continue
                }
                do {
                    try connection.publish(entry.message)
                    s.published += 1
                } catch {
                    failed.append(entry)
                }
            }
            if !failed.isEmpty { s.queue.requeue(failed) }
            if let last = decisionMessage(s.decision) { _ = try? connection.publish(last) }
        }
    }

    /// The retained decision message, sharing the payload buffer; nil before the first decision.
    private func decisionMessage(_ payload: [UInt8]) -> MQTTMessage? {
        payload.isEmpty ? nil : MQTTMessage(topic: occupancyTopic, payload: payload, qos: 1, retain: true)
    }

    /// Home Assistant restarted (`homeassistant/status` = `online`): send discovery and the current state again.
    public func homeAssistantOnline() {
        state.withLock { announce(includingState: true, in: &$0) }
    }

    private func announce(includingState: Bool, in s: inout State) {
        if let discovery {
            for (topic, payload) in discovery.messages {
                _ = try? connection.publish(MQTTMessage(topic: topic, text: payload.serialized, qos: 1, retain: true))
            }
        }
        if includingState, let last = decisionMessage(s.decision) { _ = try? connection.publish(last) }
    }

    /// Publishes the retained `offline` status before a clean exit; returns its message id when handed over.
    public func goOffline() -> Int32? {
        state.withLock { s in
            s.shuttingDown = true
            let id = try? connection.publish(MQTTMessage(topic: topics.status, text: "offline", qos: 1, retain: true))
            s.offlineMessageID = id
            return id
        }
    }

    /// Messages waiting for the broker, and how many were dropped.
    public var queueStatus: (count: Int, droppedTelemetry: Int, droppedState: Int) {
        state.withLock { ($0.queue.count, $0.queue.droppedTelemetry, $0.queue.droppedState) }
    }

    public var publishedCount: Int { state.withLock { $0.published } }

    private func send(_ message: MQTTMessage, priority: OutboundQueue.Priority, key: String?, in s: inout State) {
        if connection.isConnected && s.queue.isEmpty {
            do {
                try connection.publish(message)
                s.published += 1
                return
            } catch {
                // Lost the connection between the check and the publish: queue it.
            }
        }
        if let dropped = s.queue.push(message, priority: priority, key: key) {
            logger.debug("queue full, dropped a message", metadata: ["mqtt.topic": "\(dropped.topic)"])
        }
    }
}
