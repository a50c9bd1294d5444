import FleetProtocol
import Foundation
import HTTPTypes
import Hummingbird
import Prometheus
import Synchronization

/// The server's figures for `GET /metrics` (swift-prometheus, text format 0.0.4): counters this process keeps
/// (requests, retrain jobs and their durations) and gauges set from the store at each scrape (so they survive
/// restarts). Labels are given in name order, so a series reads the same in every scrape.
public final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    /// The per-gateway monitor series set at the last scrape (`Routes.monitorFigures`), to drop those not set again.
    let monitorSeries = Mutex<[Gauge]>([])

    /// Upper bounds (seconds) of the retrain duration histogram.
    static let durationBuckets: [Double] = [1, 5, 15, 60, 300, 900, 3600]

    public init() {}

    static func name(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    func request(route: String, method: String, status: Int) {
        registry.makeCounter(
            descriptor: Self.name(
                "occupant_http_requests_total", "HTTP requests answered, by route, method and status."),
            labels: [("method", method), ("route", route), ("status", String(status))]
        ).increment()
    }

    /// One finished retrain job: `outcome` is `promoted`, `kept` (trained, not promoted), `skipped` (no model) or
    /// `failed`.
    func retrainJob(scope: String, outcome: String, seconds: Double) {
        registry.makeCounter(
            descriptor: Self.name(
                "occupant_retrain_jobs_total", "Retraining jobs finished since start, by scope and outcome."),
            labels: [("outcome", outcome), ("scope", scope)]
        ).increment()
        registry.makeValueHistogram(
            descriptor: Self.name("occupant_retrain_duration_seconds", "Retraining job durations since start."),
            labels: [("scope", scope)], buckets: Self.durationBuckets
        ).record(seconds)
    }

    /// One message taken from the broker (the shared subscription: each process counts its own share), by topic kind
    /// and whether it was stored (`stored`) or refused (`refused`).
    func mqttMessage(kind: String, stored: Bool) {
        registry.makeCounter(
            descriptor: Self.name(
                "occupant_mqtt_messages_total", "MQTT messages taken by this process, by topic kind and outcome."),
            labels: [("kind", kind), ("outcome", stored ? "stored" : "refused")]
        ).increment()
    }

    /// Sets a gauge read from the store.
    func gauge(_ name: String, _ help: String, _ labels: [(String, String)], _ value: Double) {
        registry.makeGauge(descriptor: Self.name(name, help), labels: labels).set(value)
    }

    /// Everything in the text format.
    func text() -> [UInt8] { registry.emitToBuffer() }
}

/// Counts every answered request by its route pattern (not the raw path: ids stay out of the label values).
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        do {
            let response = try await next(request, context)
            metrics.request(
                route: context.endpointPath ?? "unmatched", method: request.method.rawValue,
                status: response.status.code)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            metrics.request(
                route: context.endpointPath ?? "unmatched", method: request.method.rawValue, status: status)
            throw error
        }
    }
}
