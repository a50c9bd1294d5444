import Foundation
import OccupantCore

/// A message the fleet is to be told: a model announcement or an alert, on MQTT or to the alert webhook.
public struct OutboxEntry: Sendable, Equatable {
    public enum Channel: String, Sendable {
        case mqtt, webhook
    }
    public var id: Int64
    public var channel: Channel
    /// The MQTT topic, or the webhook's URL.
    public var target: String
    public var payload: String
    /// A retained MQTT message (an announcement): a newer one for its topic replaces one not yet sent.
    public var retain: Bool
    /// Delivery attempts, this one included.
    public var attempts: Int
}

/// What the registry has to tell the fleet, kept in the store until it is delivered: whichever process claims an entry
/// delivers it, once; one that fails (the broker or the webhook down) is tried again later, by any process.
///
/// Entries for one target are delivered in the order they were added (a newer announcement is never overtaken by an
/// older one), and a retained entry replaces its target's earlier entries nobody is delivering.
public protocol Outbox: Sendable {
    /// Adds an entry. The same channel, target and payload already waiting is not added again (two processes telling
    /// the same thing at once).
    func add(channel: OutboxEntry.Channel, target: String, payload: String, retain: Bool) async throws
    /// Takes up to `limit` entries that are due, that nobody holds (or whose holder's lease ran out), and that no older
    /// entry for their target is waiting before; held by `holder` for `lease` seconds.
    func claim(holder: String, lease: Double, limit: Int) async throws -> [OutboxEntry]
    /// The entry was delivered (kept a day, to look into).
    func delivered(_ entry: OutboxEntry, holder: String) async throws
    /// The entry was not delivered: due again in `retryIn` seconds, with `error` noted.
    func failed(_ entry: OutboxEntry, holder: String, retryIn: Double, error: String) async throws
    /// Makes every waiting entry of `channel` due now (the broker is back).
    func retryNow(channel: OutboxEntry.Channel) async throws
    /// Seconds until the first waiting entry can be claimed (0: now) — a failed one's retry, or an entry whose
    /// holder's lease runs out — counting only each target's oldest; nil when nothing waits.
    func nextDue() async throws -> Double?
}
