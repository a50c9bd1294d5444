import Evaluator
import Logging
import MQTT
import OccupantCore
import Synchronization

/// The Home Assistant side of a gateway beyond discovery: the correction buttons and the override select (commands
/// from the broker), the attributes of the occupancy entity (model, probability, why, warnings), the `update` state
/// (installed model vs the one the server assigns) and the "occupied too long" guard.
///
/// The loop calls `cycle` every sample (no allocation: a lock, a few comparisons) and `published` when it publishes a
/// decision. The attributes (and the contributions behind `why`) are built and published only when what a Home
/// Assistant user acts on changed (`AttributesKey`: the model, stale or not, the occupancy, the override, the
/// "occupied too long" warning, a monitor window, the server's assignment), after every (re)connect and Home
/// Assistant restart, and otherwise every `attributesRefresh` to bring `probability`, `why` and `at` up to date.
public final class HomeAssistantControls: MQTTListener, Sendable {
    public let settings: HomeAssistantSettings
    let publisher: GatewayPublisher
    let clock: any GatewayClock
    let board: ModelStatusBoard
    private let logger: Logger
    private let state: Mutex<State>

    struct State {
        var override: Override
        var history: OccupancyHistory
        var monitor: MonitorDocument?
        var lastUpdate: JSON?
        /// Counts monitor windows, so a new one publishes the attributes.
        var monitorWindows = 0
        /// What the last published attributes were built from, and when; nil sends them with the next decision.
        var lastAttributes: AttributesKey?
        var lastAttributesAt = Instant(seconds: -.infinity)
    }

    /// The members of the attributes a change of which publishes them at once: the states of the diagnostic
    /// entities read from the attributes topic, the warning, the model and the override. Compared every published
    /// decision: no allocation.
    struct AttributesKey: Equatable {
        var decidedBy: String
        var stale: Bool
        var occupied: Bool?
        var override: Override.Mode
        var overrideUntil: Instant?
        var occupiedSince: Instant?
        var alert: String?
        var monitorWindows: Int
        var assigned: String?
    }

    /// The payloads of the two correction buttons.
    public enum Correction: String, Sendable, CaseIterable {
        case occupied
        case empty
    }

    public init(
        settings: HomeAssistantSettings, publisher: GatewayPublisher, clock: any GatewayClock, board: ModelStatusBoard,
        logger: Logger
    ) {
        self.settings = settings
        self.publisher = publisher
        self.clock = clock
        self.board = board
        self.logger = logger
        state = Mutex(
            State(
                override: Override(maxDuration: settings.overrideMaxDuration),
                history: OccupancyHistory(start: clock.now(), maxOccupied: settings.maxOccupied)))
    }

    var topics: GatewayTopics { publisher.topics }

    /// The override in force.
    public var override: Override { state.withLock { $0.override } }

    /// The published occupancy so far.
    public var history: OccupancyHistory { state.withLock { $0.history } }

    // MARK: Commands

    public func connected() {
        for topic in topics.homeAssistantCommands {
            do {
                try publisher.connection.subscribe(topic, qos: 1)
            } catch {
                logger.warning("cannot subscribe to \(topic): \(error)", metadata: ["mqtt.topic": "\(topic)"])
            }
        }
        let mode = state.withLock { s in
            // The broker may have restarted without its retained messages: the next decision sends the attributes.
            s.lastAttributes = nil
            return s.override.mode
        }
        publishOverrideState(mode)
    }

    public func received(_ message: MQTTMessage) {
        switch message.topic {
        case topics.correctionCommand:
            guard let correction = Correction(rawValue: message.text) else {
                refuse(message, allowed: Correction.allCases.map(\.rawValue))
                return
            }
            correct(correction)
        case topics.overrideCommand:
            guard let mode = Override.Mode(rawValue: message.text) else {
                refuse(message, allowed: Override.Mode.allCases.map(\.rawValue))
                return
            }
            setOverride(mode)
        case topics.homeAssistantStatus where message.text == "online":
            // Home Assistant restarted: the next decision sends the attributes again.
            state.withLock { $0.lastAttributes = nil }
        default:
            return
        }
    }

    /// One line per bad command, naming the topic, what came and what is allowed.
    private func refuse(_ message: MQTTMessage, allowed: [String]) {
        let shown = message.text.count > 40 ? "\(message.text.prefix(40))…" : message.text
        logger.warning(
            "ignoring '\(shown)' on \(message.topic): expected one of \(allowed.joined(separator: ", "))",
            metadata: ["mqtt.topic": "\(message.topic)"])
    }

    /// "Room is occupied" / "Room is empty": a label for the span since the last published change (at most
    /// `correctionWindow`), marked as a person's correction, on the labels topic the training host takes.
    public func correct(_ correction: Correction) {
        let now = clock.now()
        let span = state.withLock { $0.history.correctionSpan(at: now, window: settings.correctionWindow) }
        guard span.to > span.from else {
            logger.warning("correction '\(correction.rawValue)' ignored: the published state changed just now")
            return
        }
        let occupied = correction == .occupied
        publisher.publish(
            label: .object([
                "from": .string(span.from.iso8601), "to": .string(span.to.iso8601), "occupied": .bool(occupied),
                "source": .string(LabelDocument.correctionSource),
            ]))
        logger.info(
            "correction from Home Assistant: \(correction.rawValue) from \(span.from.iso8601) to \(span.to.iso8601)",
            metadata: ["label.seconds": "\(formatNumber(span.to - span.from))"])
    }

    /// The override select: `occupied` / `empty` for at most `override.maxDuration`, `auto` ends it.
    public func setOverride(_ mode: Override.Mode) {
        let now = clock.now()
        let until = state.withLock { s -> Instant? in
            s.override.set(mode, at: now)
            return s.override.until
        }
        if let until {
            logger.info("override from Home Assistant: \(mode.rawValue) until \(until.iso8601)")
        } else {
            logger.info("override from Home Assistant ended: back to auto")
        }
        publishOverrideState(mode)
    }

    private func publishOverrideState(_ mode: Override.Mode) {
        publisher.publish(retained: .string(mode.rawValue), on: topics.overrideState)
    }

    // MARK: The loop

    /// Applies the override to the decision about to be published and feeds the occupancy history; returns the
    /// "occupied too long" alert while it stands. Every cycle: no allocation unless something changes.
    public func cycle(_ decision: inout Decision, at now: Instant) -> String? {
        let (expired, forced, raised, alert) = state.withLock { s in
            let expired = s.override.expire(at: now)
            let forced = s.override.forced
            if let forced { decision.roomOccupancy = forced }
            let raised = s.history.observe(decision.roomOccupancy, at: now)
            return (expired, forced, raised, s.history.alert)
        }
        if forced != nil { decision.decidedBy = Override.decidedBy }
        if expired {
            logger.info("override expired after \(spokenDuration(settings.overrideMaxDuration)): back to auto")
            publishOverrideState(.auto)
        }
        if raised, let alert { logger.warning("alert: \(alert)") }
        return alert
    }

    /// The latest monitor window (estimated accuracy, drift) for the attributes.
    public func monitor(_ document: MonitorDocument) {
        state.withLock {
            $0.monitor = document
            $0.monitorWindows += 1
        }
    }

    /// A decision was published: publish the occupancy entity's attributes when they are due (see the type's
    /// documentation) and, when it changed, the update state.
    public func published(_ decision: Decision, scorer: any OccupancyScorer) {
        let assigned = board.current.assigned
        let refresh = settings.attributesRefresh
        guard
            let (override, history, monitor) = state.withLock({ s -> (Override, OccupancyHistory, MonitorDocument?)? in
                let key = AttributesKey(
                    decidedBy: decision.decidedBy, stale: decision.stale != nil, occupied: decision.roomOccupancy,
                    override: s.override.mode, overrideUntil: s.override.until, occupiedSince: s.history.occupiedSince,
                    alert: s.history.alert, monitorWindows: s.monitorWindows, assigned: assigned)
                // A clock stepped back (NTP at boot) refreshes at once rather than after the step.
                let age = decision.at - s.lastAttributesAt
                guard key != s.lastAttributes || age >= refresh || age < 0 else { return nil }
                s.lastAttributes = key
                s.lastAttributesAt = decision.at
                return (s.override, s.history, s.monitor)
            })
        else { return }
        let model = scorer as? ModelScorer
        let attributes = OccupancyAttributes(
            decision: decision, scorer: scorer, override: override, history: history, monitor: monitor)
        publisher.publish(retained: attributes.json, on: topics.occupancyAttributes)
        let update = Self.updateState(installed: model?.bundle.manifest, assigned: assigned)
        let changed = state.withLock { s -> Bool in
            defer { s.lastUpdate = update }
            return s.lastUpdate != update
        }
        if changed { publisher.publish(retained: update, on: topics.modelUpdate) }
    }

    /// Home Assistant `update` state: the running model (`rule` without one), the one the server assigns (the
    /// running one until the server names another) and the running bundle's held-out metrics.
    static func updateState(installed manifest: BundleManifest?, assigned: String?) -> JSON {
        let installed = manifest.map { "\($0.modelID)@\($0.version)" } ?? "rule"
        return .object([
            "installed_version": .string(installed),
            "latest_version": .string(assigned ?? installed),
            "title": "Occupancy model",
            "release_summary": .string(manifest.map(releaseSummary) ?? "the static rule (no model installed)"),
        ])
    }

    /// `accuracy 0.931, F1 0.902, AUC 0.974 on 1234 held-out rows; data 2026-…–2026-…` (at most 255 characters).
    static func releaseSummary(_ manifest: BundleManifest) -> String {
        var parts: [String] = []
        let p = manifest.provenance
        if let m = p?.metrics {
            var figures: [String] = []
            if let a = m.accuracy { figures.append("accuracy \(rounded(a))") }
            if let f = m.f1 { figures.append("F1 \(rounded(f))") }
            if let auc = m.auc { figures.append("AUC \(rounded(auc))") }
            if !figures.isEmpty {
                parts.append(
                    figures.joined(separator: ", ") + (p?.validationRows.map { " on \($0) held-out rows" } ?? ""))
            }
        }
        if let from = p?.dataFrom, let to = p?.dataTo { parts.append("data \(from) to \(to)") }
        if parts.isEmpty { parts.append("no held-out metrics in the bundle") }
        return String("\(manifest.modelID)@\(manifest.version): \(parts.joined(separator: "; "))".prefix(255))
    }

    private static func rounded(_ x: Double) -> String { formatNumber((x * 1000).rounded() / 1000) }
}
