import Logging
import OccupantCore
import Sensors
import ServiceLifecycle

/// Simulated ground truth for demos: follows the scenario's `occupied` flag at one-second resolution of simulated
/// time and publishes one label per occupied or vacant stretch on `…/labels` when the stretch ends — like a person
/// confirming occupancy in a home-automation UI — and the running stretch so far every `every` simulated seconds.
/// Only for the simulated thermostat: a real gateway's labels come from people.
public final class SimulatedLabeler: Service, Sendable {
    let scenario: any Scenario
    let clock: any GatewayClock
    let every: Double
    let publisher: GatewayPublisher
    let logger: Logger

    public init(
        scenario: any Scenario, clock: any GatewayClock, every: Double, publisher: GatewayPublisher, logger: Logger
    ) {
        self.scenario = scenario
        self.clock = clock
        self.every = every
        self.publisher = publisher
        self.logger = logger
    }

    /// Pure stretch tracking: feed it instants in order, get the labels to publish.
    struct Tracker {
        var stretch: (from: Instant, occupied: Bool)?
        var lastPartial: Instant?
        let every: Double

        mutating func observe(_ occupied: Bool?, at now: Instant) -> [JSON] {
            guard let occupied else {
                // No ground truth here: close the stretch.
                defer { stretch = nil }
                return stretch.map { [Payloads.label(from: $0.from, to: now, occupied: $0.occupied)] } ?? []
            }
            guard let current = stretch else {
                stretch = (now, occupied)
                lastPartial = now
                return []
            }
            if current.occupied != occupied {
                stretch = (now, occupied)
                lastPartial = now
                return [Payloads.label(from: current.from, to: now, occupied: current.occupied)]
            }
            if let last = lastPartial, now - last >= every {
                lastPartial = now
                return [Payloads.label(from: current.from, to: now, occupied: current.occupied)]
            }
            return []
        }
    }

    public func run() async throws {
        logger.info("publishing the simulated scenario's ground truth on \(publisher.topics.labels)")
        try? await cancelWhenGracefulShutdown {
            var tracker = Tracker(every: self.every)
            var cursor = self.clock.now()
            while !Task.isCancelled {
                let now = self.clock.now()
                // Step through simulated time a second at a time (bounded per wake-up).
                var steps = 0
                while cursor <= now && steps < 200_000 {
                    for label in tracker.observe(self.scenario.state(at: cursor).occupied, at: cursor) {
                        self.publisher.publish(label: label)
                    }
                    cursor = cursor + 1
                    steps += 1
                }
                if cursor < now { cursor = now }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }
}
