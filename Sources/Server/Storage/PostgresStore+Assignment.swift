import OccupantCore
import PostgresNIO

/// The reads behind a gateway's poll and a rollout step on PostgreSQL, each one query.
extension PostgresStore {
    /// One query: the room's champion model if it has one; else the scope's champion alias, its rollout and the
    /// gateway's wave, with the models the gateway may be assigned (the champion and the rollout's previous one).
    public func assignedModel(scope: String, gateway: String, room: String?) async throws -> ModelRecord? {
        let found = try await rows(
            """
            WITH room AS (
                SELECT m.* FROM aliases a JOIN models m ON m.scope = a.scope AND m.version = a.version
                WHERE a.scope = \(room)::text AND a.alias = 'champion'),
            fleet AS (
                SELECT a.version AS champion, r.scope AS rollout_scope, r.version AS rollout_version, r.previous,
                    r.waves, r.reached, r.state, r.reason, r.started, r.reached_at, w.wave
                FROM aliases a
                LEFT JOIN rollouts r ON r.scope = a.scope
                LEFT JOIN rollout_members w ON w.scope = a.scope AND w.gateway = \(gateway)
                WHERE a.scope = \(scope) AND a.alias = 'champion' AND NOT EXISTS (SELECT 1 FROM room))
            SELECT true AS is_room, NULL::bigint AS champion, NULL::text AS rollout_scope,
                NULL::bigint AS rollout_version, NULL::bigint AS previous, NULL::bigint AS waves,
                NULL::bigint AS reached, NULL::text AS state, NULL::text AS reason, NULL::double precision AS started,
                NULL::double precision AS reached_at, NULL::bigint AS wave, room.*
            FROM room
            UNION ALL
            SELECT false, f.*, m.* FROM fleet f
            JOIN models m ON m.scope = \(scope) AND m.version IN (f.champion, f.previous)
            """)
        let model = try Self.chosen(found, scope: scope)
        // The bundle into the local folder (a query the first time only).
        if let model { try await materialise([model]) }
        return model
    }

    /// The model of the first row's room, or the version the scope's rollout gives the gateway.
    private static func chosen(_ found: [PostgresRandomAccessRow], scope: String) throws -> ModelRecord? {
        guard let row = found.first else { return nil }
        if try row["is_room"].decode(Bool.self) { return try Self.model(from: row) }
        let champion = try row["champion"].decode(Int.self)
        var version: Int? = champion
        if try row["rollout_scope"].decode(String?.self) != nil {
            let rollout = Rollout(
                scope: scope, version: try row["rollout_version"].decode(Int.self),
                previous: try row["previous"].decode(Int?.self), waves: try row["waves"].decode(Int.self),
                reached: try row["reached"].decode(Int.self),
                state: Rollout.State(rawValue: try row["state"].decode(String.self)) ?? .running,
                reason: try row["reason"].decode(String?.self), started: try row["started"].decode(Double.self),
                reachedAt: try row["reached_at"].decode(Double.self))
            version = rollout.version(forWave: try row["wave"].decode(Int?.self), champion: champion)
        }
        guard let version else { return nil }
        return try found.first { try $0["version"].decode(Int.self) == version }.map(Self.model(from:))
    }

    public func scopes(_ scopes: [String], withAlias alias: String) async throws -> Set<String> {
        guard !scopes.isEmpty else { return [] }
        return Set(
            try await rows("SELECT scope FROM aliases WHERE alias = \(alias) AND scope = ANY(\(scopes))").map {
                try $0[0].decode(String.self)
            })
    }
}
