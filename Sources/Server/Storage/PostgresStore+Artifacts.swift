import Evaluator
import Foundation
import NIOCore
import OccupantCore
import PostgresNIO

/// Bundles in PostgreSQL, content-addressed (`artifacts`, keyed by SHA-256), so that any process serves any model:
/// a model's bundle is stored in the transaction that records the model, and a process that hands out a model's
/// record first makes sure the bundle is in its local artifact folder (fetched once, checked against its hash).
/// Downloads are then served from that folder exactly as with SQLite: the same bytes, so the same ETag, 304 and
/// Range answers from every process.
extension PostgresStore {
    static let artifactsMigration = PostgresMigrations.Migration(
        version: 2, name: "artifacts: bundles by SHA-256",
        statements: [
            """
            CREATE TABLE artifacts (
                sha256 text PRIMARY KEY, size bigint NOT NULL, bytes bytea NOT NULL, stored double precision NOT NULL)
            """
        ])

    /// The bundle of `record` from the local folder, for storing beside the model; nil when there is no local
    /// folder or no such file (a record made by hand, as tests do).
    func localBundle(_ record: ModelRecord) throws -> [UInt8]? {
        guard let artifacts, let path = artifacts.path(sha256: record.sha256), artifacts.files.exists(path) else {
            return nil
        }
        return try artifacts.get(sha256: record.sha256)
    }

    static func storeBundle(_ tx: Tx, sha256: String, bytes: [UInt8], at: Double) async throws {
        try await tx.rows(
            """
            INSERT INTO artifacts (sha256, size, bytes, stored)
            VALUES (\(sha256), \(bytes.count), \(ByteBuffer(bytes: bytes)), \(at))
            ON CONFLICT (sha256) DO NOTHING
            """)
    }

    /// Makes sure the records' bundles are in the local folder (each fetched at most once per process).
    func materialise(_ records: [ModelRecord]) async throws {
        guard let artifacts else { return }
        for record in records {
            let sha = record.sha256.lowercased()
            if present.withLock({ $0.contains(sha) }) { continue }
            guard let path = artifacts.path(sha256: sha) else { continue }
            if !artifacts.files.exists(path) {
                guard
                    let buffer = try await rows("SELECT bytes FROM artifacts WHERE sha256 = \(sha)").first?[0].decode(
                        ByteBuffer.self)
                else { continue } // not in the database either: the download reports it missing
                let bytes = Array(buffer.readableBytesView)
                let hash = sha256Hex(bytes)
                guard hash == sha else {
                    throw OccupantError(.io, "artifact \(sha) is damaged in PostgreSQL (its bytes hash to \(hash))")
                }
                try artifacts.put(bytes)
            }
            present.withLock { _ = $0.insert(sha) }
        }
    }
}
