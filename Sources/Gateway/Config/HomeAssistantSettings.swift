import OccupantCore

/// `homeAssistant:` in the gateway configuration: how far back a correction button reaches, how long an override
/// lasts at most, and when a room counts as occupied for too long (all seconds of the gateway clock).
public struct HomeAssistantSettings: Sendable, Equatable {
    /// A press of "Room is occupied" / "Room is empty" labels the span since the last published change, at most this
    /// long (default 30 minutes).
    public var correctionWindow: Double
    /// An override (`occupied` / `empty`) returns to `auto` after this long (default 4 hours).
    public var overrideMaxDuration: Double
    /// Occupied without a break for longer than this raises the "occupied too long" warning (default 12 hours); nil
    /// turns the guard off.
    public var maxOccupied: Double?
    /// The occupancy attributes are published when the model, the override, the warning, a monitor window or the
    /// occupancy changes, and otherwise at most this often to update `probability`, `why` and `at` (default 1 minute).
    public var attributesRefresh: Double

    public init(
        correctionWindow: Double = 1800, overrideMaxDuration: Double = 4 * 3600, maxOccupied: Double? = 12 * 3600,
        attributesRefresh: Double = 60
    ) {
        self.correctionWindow = correctionWindow
        self.overrideMaxDuration = overrideMaxDuration
        self.maxOccupied = maxOccupied
        self.attributesRefresh = attributesRefresh
    }
}

extension GatewayConfig {
    static let homeAssistantKeys = ["correctionWindow", "override", "maxOccupied", "attributesRefresh"]
    static let overrideKeys = ["maxDuration"]

    /// `homeAssistant:` — `correctionWindow`, `override: { maxDuration }`, `maxOccupied` (a duration, or `off`),
    /// `attributesRefresh`.
    static func applyHomeAssistant(_ map: FieldMap, to config: inout GatewayConfig) {
        if let field = map.optional("correctionWindow"), let v = field.duration() {
            if v < 1 || v > 7 * 86_400 {
                field.report("must be between 1s and 7d, got \(formatNumber(v))s")
            } else {
                config.homeAssistant.correctionWindow = v
            }
        }
        if let override = map.optional("override")?.mapping(allowed: overrideKeys),
            let field = override.optional("maxDuration"), let v = field.duration()
        {
            if v < 1 || v > 7 * 86_400 {
                field.report("must be between 1s and 7d, got \(formatNumber(v))s")
            } else {
                config.homeAssistant.overrideMaxDuration = v
            }
        }
        if let field = map.optional("maxOccupied") {
            if field.node.scalar?.string == "off" {
                config.homeAssistant.maxOccupied = nil
            } else if let v = field.duration() {
                if v < 60 {
                    field.report("must be at least 1m (or off), got \(formatNumber(v))s")
                } else {
                    config.homeAssistant.maxOccupied = v
                }
            }
        }
        if let field = map.optional("attributesRefresh"), let v = field.duration() {
            if v < 0 || v > 86_400 {
                field.report("must be between 0s (every decision) and 1d, got \(formatNumber(v))s")
            } else {
                config.homeAssistant.attributesRefresh = v
            }
        }
    }
}
