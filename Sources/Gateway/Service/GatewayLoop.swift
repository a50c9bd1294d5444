import Logging
import OccupantCore
import Sensors
import ServiceLifecycle
import Synchronization
import UnixSignals

#if canImport(Glibc)
    import Glibc
#endif

/// Sampling → decision → publishing, one cycle per sampling interval of the gateway clock.
///
/// Sensor failures arrive as readings with reasons; the loop keeps deciding (stale when a needed channel has no
/// valid value) and publishing whatever the broker's state. `WATCHDOG=1` is sent from here, so systemd restarts a
/// hung loop; SIGHUP reloads the configuration and profile between cycles.
public final class GatewayLoop: Service, Sendable {
    public let clock: any GatewayClock
    public let publisher: GatewayPublisher
    public let notifier: SystemdNotifier
    /// Stop after this many cycles (benchmarks and tests); nil runs until shutdown.
    public let maxCycles: Int?
    private let logger: Logger
    private let mailbox: Mutex<Mailbox>
    private let reload: (@Sendable () throws -> Setup)?
    /// Telemetry for the training host (held in memory, written to disk by the uploader: no file I/O here).
    private let telemetrySpool: TelemetrySpool?
    private let telemetryOverMQTT: Bool
    /// The monitor's settings; nil runs without one.
    private let monitorSettings: MonitorSettings?
    /// Writes `monitor.textfile` off the loop.
    let textfile: MonitorTextfile?
    /// Home Assistant's override, attributes and "occupied too long" guard; nil without Home Assistant.
    private let homeAssistant: HomeAssistantControls?
    /// The guards on the running model and what records their verdicts (`Probation`).
    let probationSettings: ProbationSettings
    let recorder: ProbationRecorder?

    /// What the loop runs with, built at start and again on each reload: the reader and the engine settings.
    public struct Setup: Sendable {
        public var reader: SensorReader
        public var engine: DecisionEngine
        public var heartbeat: Double
        public var telemetryInterval: Double?

        public init(reader: SensorReader, engine: DecisionEngine, heartbeat: Double, telemetryInterval: Double?) {
            self.reader = reader
            self.engine = engine
            self.heartbeat = heartbeat
            self.telemetryInterval = telemetryInterval
        }
    }

    /// What other tasks hand the loop (reload requests, model switches) and read back (stats, the last decision).
    struct Mailbox {
        /// What the loop starts with; taken (and cleared) when it starts.
        var initial: Setup?
        var reloadRequested = false
        var pendingScorer: (any OccupancyScorer, Hysteresis?, String?)?
        /// The model behind `pendingScorer`, for its guards; and the one the loop starts with.
        var pendingSubject: ProbationSubject?
        var initialWatch: (ProbationSubject, ProbationFallback?)?
        var stats = LoopStats()
        var lastDecision: Decision?
        var lastMonitor: MonitorDocument?
        /// A shadow model to start (or nil to stop) scoring at the next cycle.
        var shadowChange: ShadowChange?
    }

    struct ShadowChange { var model: ShadowModel? }

    public init(
        initial: Setup, clock: any GatewayClock, publisher: GatewayPublisher, notifier: SystemdNotifier,
        maxCycles: Int? = nil, telemetrySpool: TelemetrySpool? = nil, telemetryOverMQTT: Bool = true,
        monitor: MonitorSettings? = nil, homeAssistant: HomeAssistantControls? = nil,
        probation: ProbationSettings = .init(), recorder: ProbationRecorder? = nil, logger: Logger,
        reload: (@Sendable () throws -> Setup)? = nil, textfileSystem: any FileSystem = LocalFileSystem()
    ) {
        self.homeAssistant = homeAssistant
        self.probationSettings = probation
        self.recorder = recorder
        self.monitorSettings = monitor.flatMap { $0.enabled ? $0 : nil }
        self.textfile = monitorSettings?.textfile.map {
            MonitorTextfile(path: $0, files: textfileSystem, logger: logger)
        }
        self.telemetrySpool = telemetrySpool
        self.telemetryOverMQTT = telemetryOverMQTT
        self.clock = clock
        self.publisher = publisher
        self.notifier = notifier
        self.maxCycles = maxCycles
        self.logger = logger
        self.reload = reload
        self.mailbox = Mutex(Mailbox(initial: initial))
    }

    /// Asks the loop to switch scorer at its next cycle (a model installed through the control socket).
    /// With `subject`, the new model is watched by the guards (on probation when the subject says so), and what
    /// decided before is kept to switch back to.
    public func replaceScorer(
        _ scorer: any OccupancyScorer, hysteresis: Hysteresis?, note: String?, subject: ProbationSubject? = nil
    ) {
        mailbox.withLock {
            $0.pendingScorer = (scorer, hysteresis, note)
            $0.pendingSubject = subject
        }
    }

    /// The model the loop starts with is watched by the guards, with `fallback` to switch back to (before `run`).
    public func watchInitialModel(_ subject: ProbationSubject, fallback: ProbationFallback?) {
        mailbox.withLock { $0.initialWatch = (subject, fallback) }
    }

    /// Asks the loop to score `shadow` beside the active model from its next cycle (nil stops shadow scoring).
    public func replaceShadow(_ shadow: ShadowModel?) {
        mailbox.withLock { $0.shadowChange = ShadowChange(model: shadow) }
    }

    /// Asks for a reload at the next cycle (what SIGHUP does).
    public func requestReload() { mailbox.withLock { $0.reloadRequested = true } }

    /// Timing figures so far.
    public var stats: LoopStats { mailbox.withLock { $0.stats } }

    /// The last monitor window published.
    public var lastMonitor: MonitorDocument? { mailbox.withLock { $0.lastMonitor } }

    /// The last decision published (each change of state or decider, and each heartbeat).
    public var lastDecision: Decision? { mailbox.withLock { $0.lastDecision } }

    public func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { [self] in
                for await _ in await UnixSignalsSequence(trapping: .sighup) {
                    logger.info("SIGHUP: reloading configuration and profile")
                    requestReload()
                }
            }
            group.addTask { [self] in
                do {
                    try await cancelWhenGracefulShutdown { try await self.runLoop() }
                } catch is CancellationError {
                    // Graceful shutdown.
                }
                notifier.stopping()
            }
            // The loop finishing (cycle limit or shutdown) ends the service.
            _ = try await group.next()
            group.cancelAll()
        }
    }

    /// On real time (the system clock or a simulated clock scaled from it), the loop runs on its own thread and
    /// sleeps to absolute deadlines (`SamplingThread`); a test's manual clock keeps the clock's own sleep.
    private func runLoop() async throws {
        guard realSeconds(1) != nil, getenv("OCCUPANT_SAMPLING_POOL") == nil else { return try await loop(on: nil) }
        let thread = SamplingThread()
        defer { thread.stop() }
        try await withTaskExecutorPreference(thread) { try await self.loop(on: thread) }
    }

    /// `seconds` of the loop's clock in real seconds, when the clock runs from the real one.
    private func realSeconds(_ seconds: Double) -> Double? {
        if clock is SystemClock { return seconds }
        if let scaled = clock as? ScaledClock { return seconds / scaled.speed }
        return nil
    }

    private func loop(on thread: SamplingThread?) async throws {
        guard
            var current = mailbox.withLock({ s in
                defer { s.initial = nil }
                return s.initial
            })
        else {
            preconditionFailure("the gateway loop runs once")
        }
        var lastPublished: (occupied: Bool?, stale: Bool, decidedBy: String, alert: Bool)?
        var lastPublishedAt = Instant(seconds: -.infinity)
        var lastTelemetryAt = Instant(seconds: -.infinity)
        var lastWatchdog = -Double.infinity
        var cycles = 0
        // At high simulation speeds, never tick faster than every 5 ms of real time.
        let speed = (clock as? ScaledClock)?.speed ?? 1
        var monitor: Monitor?
        var overrides = OverrideSpans()
        var guards = Probation(settings: probationSettings)
        var fallback: ProbationFallback?
        if let (subject, initialFallback) = mailbox.withLock({ s in
            defer { s.initialWatch = nil }
            return s.initialWatch
        }) {
            guards.watch(subject, at: clock.now())
            fallback = initialFallback
        }
        var shadow: ShadowModel?
        notifier.ready(status: "sampling \(current.reader.profile.name) on \(current.reader.bus.name)")

        while !Task.isCancelled {
            let tickStart = monotonicSeconds()
            let now = clock.now()
            // Apply what arrived since the last cycle: a reload, a new model.
            let (reloadRequested, pendingScorer, pendingSubject, shadowChange) = mailbox.withLock { s in
                defer {
                    s.reloadRequested = false
                    s.pendingScorer = nil
                    s.pendingSubject = nil
                    s.shadowChange = nil
                }
                return (s.reloadRequested, s.pendingScorer, s.pendingSubject, s.shadowChange)
            }
            if let shadowChange { shadow = shadowChange.model }
            if reloadRequested {
                current = applyReload(current)
                monitor?.use(profile: current.reader.profile)
                // A running model stays across a reload; a rule may come with new settings.
                if monitor?.decidedBy != current.engine.decidedBy { monitor?.use(engine: current.engine) }
            }
            if let (scorer, hysteresis, note) = pendingScorer {
                fallback = ProbationFallback(current.engine, subject: guards.subject)
                current.engine.replace(scorer: scorer, hysteresis: hysteresis, note: note)
                guards.watch(pendingSubject, at: now)
                logger.info("now deciding with \(current.engine.decidedBy)")
                monitor?.use(engine: current.engine)
            }

            let (sample, changes) = await current.reader.sample(at: now)
            for change in changes {
                if change.to == .ok {
                    logger.info("\(change)")
                } else {
                    logger.warning("\(change)")
                }
            }
            var decision = current.engine.decide(sample)
            if applyGuards(&guards, &decision, &current.engine, &fallback, sample: sample, at: now) {
                monitor?.use(engine: current.engine)
            }
            shadow?.record(sample, active: decision)
            if let settings = monitorSettings {
                if monitor == nil {
                    monitor = Monitor(settings: settings, profile: current.reader.profile, start: now)
                    monitor!.use(engine: current.engine)
                }
                monitor!.record(sample, decision)
                if now - monitor!.from >= settings.window {
                    var document = monitor!.close(
                        at: now, gateway: publisher.topics.gatewayID, process: ProcessUsage.current())
                    document.shadow = shadow?.close(at: now)
                    document.overrides = overrides.close(at: now.seconds)
                    publishMonitor(document, settings: settings)
                    if let trip = guards.check(window: document, at: now),
                        apply(trip, &guards, &current.engine, &fallback, at: now)
                    {
                        monitor!.use(engine: current.engine)
                    }
                }
            }
            // The monitor saw the scorer's own decision; what is published may be a person's override.
            var shown = decision
            let alert = homeAssistant?.cycle(&shown, at: now)
            overrides.note(forced: shown.decidedBy == Override.decidedBy ? shown.roomOccupancy : nil, at: now.seconds)
            let signature = (shown.roomOccupancy, shown.stale != nil, shown.decidedBy, alert != nil)
            var published = false
            if lastPublished == nil || lastPublished! != signature || now - lastPublishedAt >= current.heartbeat {
                publisher.publish(decision: shown, sample: sample, alert: alert)
                homeAssistant?.published(shown, scorer: current.engine.scorer)
                if lastPublished?.occupied != shown.roomOccupancy || lastPublished?.stale != (shown.stale != nil) {
                    logger.info(
                        "decision: \(describe(shown))",
                        metadata: ["decision.probability": "\(shown.probability.map(formatNumber) ?? "-")"])
                }
                lastPublished = signature
                lastPublishedAt = now
                published = true
            }
            if let interval = current.telemetryInterval, now - lastTelemetryAt >= interval {
                if telemetryOverMQTT { publisher.publish(telemetry: sample) }
                telemetrySpool?.append(sample)
                lastTelemetryAt = now
            }
            let elapsed = monotonicSeconds() - tickStart
            // Only the published decision and the timing go into shared state: a decision shares the reader's
            // readings and the model's feature vector, so keeping one every cycle (or `current`) would make the
            // next cycle copy them (copy-on-write).
            mailbox.withLock { s in
                if published { s.lastDecision = shown }
                s.stats.record(cycleSeconds: elapsed, published: published)
            }
            if let interval = notifier.watchdogInterval, monotonicSeconds() - lastWatchdog >= interval {
                notifier.watchdog()
                lastWatchdog = monotonicSeconds()
            }
            cycles += 1
            if let maxCycles, cycles >= maxCycles { return }
            let tick = max(current.reader.interval, speed * 0.005)
            let next = now + tick
            if let thread, let remaining = realSeconds(next - clock.now()) {
                // The same wait as `clock.sleep` below, as an absolute deadline read after the clock: cycles stay at
                // least a tick apart on the loop's clock, so a heartbeat of one tick publishes every cycle.
                let until = monotonicSeconds() + remaining
                await withTaskCancellationHandler {
                    thread.sleep(untilMonotonic: until)
                } onCancel: {
                    thread.interrupt()
                }
            } else {
                try await clock.sleep(seconds: next - clock.now())
            }
        }
    }

    /// Publishes a closed monitor window (retained), spools it for the training host, hands it to the textfile
    /// writer when configured (no file I/O here), and keeps it for `lastMonitor`.
    private func publishMonitor(_ document: MonitorDocument, settings: MonitorSettings) {
        publisher.publish(monitor: document)
        telemetrySpool?.append(monitor: document)
        textfile?.submit(document)
        homeAssistant?.monitor(document)
        mailbox.withLock { $0.lastMonitor = document }
        let drifted = document.drift?.filter(\.value.drifted).keys.sorted() ?? []
        if !drifted.isEmpty {
            logger.warning(
                "monitor: drift on \(drifted.joined(separator: ", "))",
                metadata: ["monitor.samples": "\(document.window.samples)"])
        }
    }

    private func applyReload(_ current: Setup) -> Setup {
        guard let reload else { return current }
        notifier.reloading()
        defer { notifier.ready() }
        do {
            var fresh = try reload()
            // Keep the debounced state, and a model that is running; a rule takes the new settings.
            var engine = current.engine
            if engine.scorer is StaticRule {
                engine.replace(scorer: fresh.engine.scorer, hysteresis: fresh.engine.hysteresis, note: engine.note)
            }
            fresh.engine = engine
            logger.info(
                "reloaded: profile \(fresh.reader.profile.name), \(fresh.reader.profile.channels.count) channels")
            return fresh
        } catch {
            logger.error("reload failed, keeping the running configuration: \(error)")
            return current
        }
    }

    private func describe(_ d: Decision) -> String {
        if let stale = d.stale { return "stale (\(stale))" }
        return (d.roomOccupancy == true ? "occupied" : "vacant") + " by \(d.decidedBy)"
    }
}

/// Per-cycle timing, kept in a bounded reservoir for medians and percentiles.
public struct LoopStats: Sendable {
    public private(set) var cycles = 0
    public private(set) var publishes = 0
    public private(set) var cycleSeconds: [Double] = []
    private static let reservoir = 100_000

    mutating func record(cycleSeconds seconds: Double, published: Bool) {
        cycles += 1
        if published { publishes += 1 }
        if cycleSeconds.count < LoopStats.reservoir { cycleSeconds.append(seconds) }
    }

    /// The q-quantile (0…1) of cycle time in seconds.
    public func quantile(_ q: Double) -> Double? {
        guard !cycleSeconds.isEmpty else { return nil }
        let sorted = cycleSeconds.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * q).rounded()))]
    }
}
