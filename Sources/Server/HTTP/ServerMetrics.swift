import FleetProtocol
import Foundation
import HTTPTypes
import Hummingbird
import Synchronization

/// The server's own counters, written in the Prometheus text format (version 0.0.4) by `GET /metrics` together with
/// figures read from the store at scrape time. Written by hand rather than through swift-prometheus: the few families
/// here need no client library, and the package keeps one dependency fewer.
public final class ServerMetrics: Sendable {
    struct Request: Hashable {
        var route: String
        var method: String
        var status: Int
    }

    struct State {
        var requests: [Request: Int] = [:]
        var retrainJobs: [[String]: Int] = [:]
        /// Per scope: bucket counts (one per `durationBuckets` bound, then +Inf), sum and count of job durations.
        var durations: [String: (buckets: [Int], sum: Double, count: Int)] = [:]
    }

    /// Upper bounds (seconds) of the retrain duration histogram.
    static let durationBuckets: [Double] = [1, 5, 15, 60, 300, 900, 3600]

    let state = Mutex(State())

    public init() {}

    func request(route: String, method: String, status: Int) {
        state.withLock { $0.requests[Request(route: route, method: method, status: status), default: 0] += 1 }
    }

    /// One finished retrain job: `outcome` is `promoted`, `kept` (trained, not promoted), `skipped` (no model) or
    /// `failed`.
    func retrainJob(scope: String, outcome: String, seconds: Double) {
        state.withLock { s in
            s.retrainJobs[[scope, outcome], default: 0] += 1
            var d = s.durations[scope] ?? (Array(repeating: 0, count: Self.durationBuckets.count + 1), 0, 0)
            let bucket = Self.durationBuckets.firstIndex { seconds <= $0 } ?? Self.durationBuckets.count
            d.buckets[bucket] += 1
            d.sum += seconds
            d.count += 1
            s.durations[scope] = d
        }
    }

    /// This process's counters in the text format.
    func render(into out: inout PrometheusText) {
        let s = state.withLock { $0 }
        out.family("occupant_http_requests_total", "counter", "HTTP requests answered, by route, method and status.")
        for (r, n) in s.requests.sorted(by: {
            ($0.key.route, $0.key.method, $0.key.status) < ($1.key.route, $1.key.method, $1.key.status)
        }) {
            out.sample(
                "occupant_http_requests_total", ["route": r.route, "method": r.method, "status": String(r.status)],
                Double(n))
        }
        out.family(
            "occupant_retrain_jobs_total", "counter", "Retraining jobs finished since start, by scope and outcome.")
        for (k, n) in s.retrainJobs.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
            out.sample("occupant_retrain_jobs_total", ["scope": k[0], "outcome": k[1]], Double(n))
        }
        out.family("occupant_retrain_duration_seconds", "histogram", "Retraining job durations since start, by scope.")
        for (scope, d) in s.durations.sorted(by: { $0.key < $1.key }) {
            var cumulative = 0
            for (i, bound) in Self.durationBuckets.enumerated() {
                cumulative += d.buckets[i]
                out.sample(
                    "occupant_retrain_duration_seconds_bucket", ["scope": scope, "le": PrometheusText.number(bound)],
                    Double(cumulative))
            }
            out.sample("occupant_retrain_duration_seconds_bucket", ["scope": scope, "le": "+Inf"], Double(d.count))
            out.sample("occupant_retrain_duration_seconds_sum", ["scope": scope], d.sum)
            out.sample("occupant_retrain_duration_seconds_count", ["scope": scope], Double(d.count))
        }
    }
}

/// Prometheus text exposition: `# HELP`, `# TYPE`, then `name{label="value"} number` lines.
struct PrometheusText {
    var text = ""

    mutating func family(_ name: String, _ type: String, _ help: String) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
    }

    mutating func sample(_ name: String, _ labels: [String: String], _ value: Double) {
        text += name
        if !labels.isEmpty {
            text += "{"
            text += labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\(Self.escape($0.value))\"" }.joined(
                separator: ",")
            text += "}"
        }
        text += " \(Self.number(value))\n"
    }

    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    static func number(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return "\(v)"
    }
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
