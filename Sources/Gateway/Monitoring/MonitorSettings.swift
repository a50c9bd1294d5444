/// `monitor:` in the gateway configuration: the window the monitor aggregates over (gateway clock), and where to
/// write the Prometheus textfile, if anywhere.
public struct MonitorSettings: Sendable, Equatable {
    /// Seconds of gateway clock per window (default one hour).
    public var window: Double
    /// A file for node_exporter's textfile collector, rewritten atomically at the end of each window.
    public var textfile: String?
    /// A numeric value unchanged for this long counts as stuck (seconds of gateway clock).
    public var stuckAfter: Double
    /// False turns the monitor off.
    public var enabled: Bool

    public init(window: Double = 3600, textfile: String? = nil, stuckAfter: Double = 600, enabled: Bool = true) {
        self.window = window
        self.textfile = textfile
        self.stuckAfter = stuckAfter
        self.enabled = enabled
    }
}
