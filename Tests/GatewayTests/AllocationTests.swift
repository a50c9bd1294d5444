import CAllocationCounter
import Evaluator
import Features
import FleetProtocol
import Logging
import MQTT
import OccupantCore
import OccupantTesting
import Sensors
import Testing

@testable import Gateway

#if canImport(Glibc)
    import Glibc
#endif

/// The per-sample path keeps its promise: once warm, a cycle of the decision loop — sample every channel through the
/// simulated bus and the real decode path, then decide with the rule or a model — allocates nothing. Names and
/// dictionaries are built only when a decision is published, which this loop does not do.
@Suite(.serialized) struct AllocationTests {
    /// Allocations allowed over the whole measured run (10,000 cycles): 0 measured (debug build, Swift 6.3); a handful
    /// leaves room for a runtime that grows a cache once, never for one per cycle.
    static let budget: UInt64 = 8
    static let cycles = 10_000

    /// A world that allocates nothing when asked: precomputed states, one per second, repeating every 97 s, with
    /// sound crossing the rule's threshold, temperature drifting and the HVAC cycling (nothing looks stuck).
    struct CyclingScenario: Scenario {
        let states: [ThermostatState] = (0..<97).map(Self.state)

        static func state(_ i: Int) -> ThermostatState {
            let temperature: Double = 20 + Double(i % 13) * 0.25
            let humidity: Double = 40 + Double(i % 7)
            let sound = Double((i * 7) % 40)
            let hvac = i % 30 < 10 ? "heating" : "standby"
            let values: [String: ChannelValue] = [
                "temperature": .number(temperature), "humidity": .number(humidity), "sound": .number(sound),
                "hvac": .category(hvac),
            ]
            return ThermostatState(values: values, occupied: nil)
        }

        var name: String { "cycling" }
        var start: Instant { Instant(seconds: 1_767_600_000) }
        func state(at instant: Instant) -> ThermostatState { states[Int(instant.seconds) % states.count] }
    }

    struct Outcome {
        var allocations: UInt64
        var occupied = 0
        var vacant = 0
        var stale = 0
        var trips = 0
        var sameThread: Bool
        /// The shadow's window over warm-up and measured cycles, when one was scored.
        var shadow: ShadowWindow? = nil
    }

    /// Runs `warmUp` cycles, then counts the allocations of `cycles` more.
    func run(
        profile name: String, engine: DecisionEngine, warmUp: Int = 1_000, monitor bundle: ModelBundle? = nil,
        homeAssistant: ((any GatewayClock) -> HomeAssistantControls)? = nil,
        guards: Probation? = nil, shadow: ShadowModel? = nil
    ) async throws -> Outcome {
        var shadow = shadow
        let profile = try FirmwareProfile.load(path: packageRootPath("firmware-profiles/\(name).yaml"))
        let scenario = CyclingScenario()
        let clock = ManualClock(scenario.start)
        var reader = SensorReader(
            profile: profile, bus: SimulatedBus(profile: profile, scenario: scenario, clock: clock))
        var engine = engine
        // A day-long window: closing one (once a window) builds the document; recording a sample must not allocate.
        var monitor =
            bundle.map { _ in Monitor(settings: .init(window: 86_400), profile: profile, start: clock.now()) }
        if let bundle { monitor?.use(bundle: bundle, decidedBy: engine.decidedBy) }
        let controls = homeAssistant?(clock)
        var guards = guards
        var trips = 0
        for _ in 0..<warmUp {
            let (sample, _) = await reader.sample(at: clock.now())
            var decision = engine.decide(sample)
            monitor?.record(sample, decision)
            if guards?.check(decision, at: clock.now()) != nil { trips += 1 }
            shadow?.record(sample, active: decision)
            _ = controls?.cycle(&decision, at: clock.now())
            clock.advance(1)
        }
        var occupied = 0
        var vacant = 0
        var stale = 0
        let thread = pthread_self()
        occupant_allocations_start()
        for _ in 0..<Self.cycles {
            let (sample, _) = await reader.sample(at: clock.now())
            var decision = engine.decide(sample)
            monitor?.record(sample, decision)
            if guards?.check(decision, at: clock.now()) != nil { trips += 1 }
            shadow?.record(sample, active: decision)
            _ = controls?.cycle(&decision, at: clock.now())
            switch decision.roomOccupancy {
            case true?: occupied += 1
            case false?: vacant += 1
            case nil: stale += 1
            }
            clock.advance(1)
        }
        let allocations = occupant_allocations_stop()
        return Outcome(
            allocations: allocations, occupied: occupied, vacant: vacant, stale: stale, trips: trips,
            sameThread: pthread_equal(thread, pthread_self()) != 0, shadow: shadow?.close(at: clock.now()))
    }

    @Test func theCounterCounts() {
        occupant_allocations_start()
        let array = [Int](repeating: 7, count: 1_000)
        let allocations = occupant_allocations_stop()
        #expect(array.count == 1_000)
        #expect(allocations >= 1)
    }

    @Test(arguments: ["thermostat-mcu", "tmp102-mcp23008"])
    func theRuleLoopDoesNotAllocate(profile: String) async throws {
        let outcome = try await run(
            profile: profile, engine: DecisionEngine(scorer: StaticRule(), hysteresis: Hysteresis()))
        // The loop really decided, both ways, from valid readings.
        #expect(outcome.stale == 0 && outcome.occupied > 0 && outcome.vacant > 0)
        #expect(outcome.sameThread, "the loop moved threads: allocations on the other thread were not counted")
        #expect(outcome.allocations <= Self.budget, "\(outcome.allocations) allocations in \(Self.cycles) cycles")
    }

    @Test func theModelLoopDoesNotAllocate() async throws {
        let fixtures = packageRootPath("Tests/Fixtures/models")
        let imported = try XGBoostImporter.load(path: "\(fixtures)/bench-d6-100.model.json")
        let schema = try FeatureSchema.parse(
            yaml: try String(contentsOfFile: "\(fixtures)/bench-features.yaml", encoding: .utf8))
        let manifest = BundleManifest(
            modelID: "allocations", version: 1, created: Instant(seconds: 0), features: schema, policy: .init(),
            golden: GoldenVectors.make(
                model: imported.model, rows: Array(repeating: [Double](repeating: 0, count: 5), count: 32)))
        let scorer = try ModelScorer(bundle: ModelBundle(manifest: manifest, model: imported.model))
        // Warm-up past the schema's longest window (600 s at one cycle a second), so every window has filled.
        let outcome = try await run(
            profile: "thermostat-mcu", engine: DecisionEngine(scorer: scorer, hysteresis: scorer.hysteresis),
            warmUp: 1_200)
        #expect(outcome.stale == 0 && outcome.occupied + outcome.vacant == Self.cycles)
        #expect(outcome.sameThread, "the loop moved threads: allocations on the other thread were not counted")
        #expect(outcome.allocations <= Self.budget, "\(outcome.allocations) allocations in \(Self.cycles) cycles")
    }

    /// The monitor fed every cycle (input quality, predictions, drift histograms of all five features) adds nothing.
    @Test func theMonitoredModelLoopDoesNotAllocate() async throws {
        let bundle = try MonitorTests.bundleWithBaseline()
        let scorer = try ModelScorer(bundle: bundle)
        let outcome = try await run(
            profile: "thermostat-mcu", engine: DecisionEngine(scorer: scorer, hysteresis: scorer.hysteresis),
            warmUp: 1_200, monitor: bundle)
        #expect(outcome.stale == 0 && outcome.occupied + outcome.vacant == Self.cycles)
        #expect(outcome.sameThread, "the loop moved threads: allocations on the other thread were not counted")
        #expect(outcome.allocations <= Self.budget, "\(outcome.allocations) allocations in \(Self.cycles) cycles")
    }

    /// The Home Assistant controls on every cycle (an override in force, the "occupied too long" alert standing) add
    /// nothing: `why` is computed only when a decision is published.
    @Test func theHomeAssistantCycleDoesNotAllocate() async throws {
        let bundle = try MonitorTests.bundleWithBaseline()
        let scorer = try ModelScorer(bundle: bundle)
        let connection = RecordingConnection()
        let topics = GatewayTopics(prefix: "occupant", gatewayID: "alloc")
        let publisher = GatewayPublisher(
            connection: connection, topics: topics, discovery: nil, edukitThing: nil, queueLimit: 10,
            logger: Logger(label: "alloc") { _ in SwiftLogNoOpLogHandler() })
        let box = Locked<HomeAssistantControls?>(nil)
        let outcome = try await run(
            profile: "thermostat-mcu", engine: DecisionEngine(scorer: scorer, hysteresis: scorer.hysteresis),
            warmUp: 1_200,
            homeAssistant: { clock in
                let controls = HomeAssistantControls(
                    settings: .init(overrideMaxDuration: 86_400, maxOccupied: 600), publisher: publisher, clock: clock,
                    board: ModelStatusBoard(), logger: Logger(label: "alloc") { _ in SwiftLogNoOpLogHandler() })
                controls.setOverride(.occupied)
                box.withLock { $0 = controls }
                return controls
            })
        // Forced occupied the whole time, and the guard raised its alert during the warm-up.
        #expect(outcome.occupied == Self.cycles)
        let controls = try #require(box.withLock { $0 })
        #expect(controls.history.alert != nil && controls.override.mode == .occupied)
        #expect(outcome.sameThread, "the loop moved threads: allocations on the other thread were not counted")
        #expect(outcome.allocations <= Self.budget, "\(outcome.allocations) allocations in \(Self.cycles) cycles")
    }

    /// The probation guards judging every decision (flapping ring, stuck output over the feature vector, training
    /// ranges of all five features) add nothing; limits no cycle reaches, so every check runs to its end.
    @Test func theGuardedModelLoopDoesNotAllocate() async throws {
        let bundle = try MonitorTests.bundleWithBaseline()
        let scorer = try ModelScorer(bundle: bundle)
        var guards = Probation(
            settings: .init(maxTransitionsPerHour: 3_600, stuckAfter: 1e9, outOfRangeShare: 1))
        guards.watch(
            .init(modelID: "monitored", version: 1, sha256: "", bundle: bundle), at: CyclingScenario().start)
        let outcome = try await run(
            profile: "thermostat-mcu", engine: DecisionEngine(scorer: scorer, hysteresis: scorer.hysteresis),
            warmUp: 1_200, monitor: bundle, guards: guards)
        #expect(outcome.stale == 0 && outcome.occupied + outcome.vacant == Self.cycles)
        #expect(outcome.trips == 0)
        #expect(outcome.sameThread, "the loop moved threads: allocations on the other thread were not counted")
        #expect(outcome.allocations <= Self.budget, "\(outcome.allocations) allocations in \(Self.cycles) cycles")
    }

    /// A shadow bundle with a schema of its own, scored beside the monitored model every cycle (its pipeline, its
    /// hysteresis, agreement and the run list), adds nothing either.
    @Test func theShadowScoredBesideTheModelDoesNotAllocate() async throws {
        let bundle = try MonitorTests.bundleWithBaseline()
        let scorer = try ModelScorer(bundle: bundle)
        let fixtures = packageRootPath("Tests/Fixtures/models")
        let imported = try XGBoostImporter.load(path: "\(fixtures)/bench-d4-20.model.json")
        let schema = try FeatureSchema.parse(
            yaml: """
                features:
                  - { name: sound_max_30s, transform: max, channel: sound, window: 30 }
                  - { name: sound_mean_10s, transform: mean, channel: sound, window: 10 }
                  - { name: temperature_mean_300s, transform: mean, channel: temperature, window: 300 }
                  - { name: hvac_heating, transform: oneHot, channel: hvac, category: heating }
                  - { name: tod_cos, transform: timeOfDayCos }
                """)
        let manifest = BundleManifest(
            modelID: "shadow", version: 2, created: Instant(seconds: 0), features: schema, policy: .init(),
            golden: GoldenVectors.make(
                model: imported.model, rows: Array(repeating: [Double](repeating: 0, count: 5), count: 32)))
        let shadow = try ShadowModel(bundle: ModelBundle(manifest: manifest, model: imported.model), sha256: "00")
        let outcome = try await run(
            profile: "thermostat-mcu", engine: DecisionEngine(scorer: scorer, hysteresis: scorer.hysteresis),
            warmUp: 1_200, monitor: bundle, shadow: shadow)
        #expect(outcome.stale == 0 && outcome.occupied + outcome.vacant == Self.cycles)
        // The shadow really scored every cycle and compared itself with the active model.
        let window = try #require(outcome.shadow)
        #expect(window.scored == 1_200 + Self.cycles && window.compared == window.scored)
        #expect(window.runs.map(\.n).reduce(0, +) == window.scored || !window.complete)
        #expect(outcome.sameThread, "the loop moved threads: allocations on the other thread were not counted")
        #expect(outcome.allocations <= Self.budget, "\(outcome.allocations) allocations in \(Self.cycles) cycles")
    }

    /// A shadow bundle with drift baselines: its own features' drift histograms are fed every cycle too, without
    /// allocating, and its window reports them.
    @Test func theShadowsDriftCountsDoNotAllocate() async throws {
        let bundle = try MonitorTests.bundleWithBaseline()
        let scorer = try ModelScorer(bundle: bundle)
        let shadow = try ShadowModel(bundle: bundle, sha256: "00")
        let outcome = try await run(
            profile: "thermostat-mcu", engine: DecisionEngine(scorer: scorer, hysteresis: scorer.hysteresis),
            warmUp: 1_200, monitor: bundle, shadow: shadow)
        #expect(outcome.allocations <= Self.budget, "\(outcome.allocations) allocations in \(Self.cycles) cycles")
        let window = try #require(outcome.shadow)
        // The same bundle in shadow: it agrees with the active model on every sample, and reports its drift.
        #expect(window.agreement == 1)
        let drift = try #require(window.drift)
        #expect(drift.count == bundle.manifest.features.names.count)
        #expect(drift.values.allSatisfy { $0.score.isFinite && $0.threshold != nil })
    }

    /// Publishing a decision every cycle (the heartbeat at 10 Hz) writes its payload into the publisher's reused
    /// buffer and hands it to the connection without allocating (libmosquitto's own copy is not counted here: a
    /// connection that only counts stands in for it).
    @Test func publishingADecisionDoesNotAllocate() async throws {
        let profile = try FirmwareProfile.load(path: packageRootPath("firmware-profiles/thermostat-mcu.yaml"))
        let scenario = CyclingScenario()
        let clock = ManualClock(scenario.start)
        var reader = SensorReader(
            profile: profile, bus: SimulatedBus(profile: profile, scenario: scenario, clock: clock))
        var engine = DecisionEngine(scorer: StaticRule(), hysteresis: Hysteresis())
        let connection = CountingConnection()
        let publisher = GatewayPublisher(
            connection: connection, topics: GatewayTopics(prefix: "occupant", gatewayID: "alloc"), discovery: nil,
            edukitThing: nil, queueLimit: 10, logger: Logger(label: "alloc") { _ in SwiftLogNoOpLogHandler() })
        for _ in 0..<1_000 {
            let (sample, _) = await reader.sample(at: clock.now())
            publisher.publish(decision: engine.decide(sample), sample: sample)
            clock.advance(1)
        }
        let before = connection.bytes.withLock { $0 }
        occupant_allocations_start()
        for _ in 0..<Self.cycles {
            let (sample, _) = await reader.sample(at: clock.now())
            publisher.publish(decision: engine.decide(sample), sample: sample)
            clock.advance(1)
        }
        let allocations = occupant_allocations_stop()
        // Every cycle published its decision (about 150 bytes each).
        #expect(connection.count.withLock { $0 } == 1_000 + Self.cycles)
        #expect(connection.bytes.withLock { $0 } - before > 100 * Self.cycles)
        #expect(allocations <= Self.budget, "\(allocations) allocations in \(Self.cycles) cycles")
    }

    /// Publishing is where names and dictionaries are built: the payload of a decision from the zero-allocation
    /// path is the documented one, byte for byte.
    @Test func aDecisionFromTheLoopPublishesTheSamePayload() async throws {
        let profile = try FirmwareProfile.load(path: packageRootPath("firmware-profiles/thermostat-mcu.yaml"))
        let scenario = CyclingScenario()
        let clock = ManualClock(scenario.start + 3)
        var reader = SensorReader(
            profile: profile, bus: SimulatedBus(profile: profile, scenario: scenario, clock: clock))
        var engine = DecisionEngine(scorer: StaticRule(), hysteresis: Hysteresis())
        let (sample, _) = await reader.sample(at: clock.now())
        let decision = engine.decide(sample)
        let text = Payloads.decision(decision).serialized
        #expect(
            text
                == #"{"roomOccupancy":true,"probability":1,"decidedBy":"rule:sound>10","inputs":{"sound":21},"health":{"hvac":"ok","sound":"ok","temperature":"ok"},"at":"2026-01-05T08:00:03.000Z"}"#
        )
        #expect(decision.inputs.dictionary == ["sound": .number(21)])
        #expect(decision.health.dictionary == ["temperature": .ok, "sound": .ok, "hvac": .ok])
    }
}

/// A connection that only counts what it is handed (nothing kept: the payload's buffer goes back to the publisher).
final class CountingConnection: MQTTConnection {
    let count = Locked(0)
    let bytes = Locked(0)
    var isConnected: Bool { true }

    func publish(_ message: MQTTMessage) throws(OccupantError) -> Int32 {
        let n = message.payload.count
        bytes.withLock { $0 += n }
        return Int32(
            truncatingIfNeeded: count.withLock { c in
                c += 1
                return c
            })
    }

    func subscribe(_ topic: String, qos: Int32) throws(OccupantError) {}
}
