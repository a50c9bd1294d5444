import Foundation
import OccupantCore

/// A `FileSystem` on the local disk whose writes (append, sync, atomic writes) stall like a slow SD card: each one
/// blocks for `delay` or until `release()`, whichever comes first. Tests wait for `waitForBlockedWrite` (an event,
/// not a sleep) and then check that other work goes on meanwhile.
///
/// `@unchecked Sendable`: the mutable counters are only touched under `condition`.
public final class SlowFileSystem: FileSystem, @unchecked Sendable {
    private let base = LocalFileSystem()
    private let delay: TimeInterval
    private let condition = NSCondition()
    private var released = false
    private var blocked = 0
    private var started = 0

    public init(delay: Duration = .seconds(2)) {
        let parts = delay.components
        self.delay = TimeInterval(parts.seconds) + TimeInterval(parts.attoseconds) / 1e18
    }

    /// Lets every blocked and later write through at once.
    public func release() {
        condition.lock()
        released = true
        condition.broadcast()
        condition.unlock()
    }

    /// Writes blocked right now.
    public var blockedWrites: Int {
        condition.lock()
        defer { condition.unlock() }
        return blocked
    }

    /// Waits until a write is blocked (true) or `timeout` passes (false).
    public func waitForBlockedWrite(timeout: TimeInterval = 10) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        while blocked == 0 {
            if !condition.wait(until: deadline) { return blocked > 0 }
        }
        return true
    }

    private func stall() {
        let deadline = Date(timeIntervalSinceNow: delay)
        condition.lock()
        started += 1
        blocked += 1
        condition.broadcast()
        while !released && condition.wait(until: deadline) {}
        blocked -= 1
        condition.broadcast()
        condition.unlock()
    }

    public func writeAtomically(_ bytes: [UInt8], to path: String) throws(OccupantError) {
        stall()
        try base.writeAtomically(bytes, to: path)
    }

    public func createNew(_ bytes: [UInt8], at path: String, mode: UInt32) throws(OccupantError) {
        stall()
        try base.createNew(bytes, at: path, mode: mode)
    }

    public func append(_ bytes: [UInt8], to path: String) throws(OccupantError) {
        stall()
        try base.append(bytes, to: path)
    }

    public func sync(_ path: String, newFile: Bool) throws(OccupantError) { try base.sync(path, newFile: newFile) }
    public func read(_ path: String) throws(OccupantError) -> [UInt8] { try base.read(path) }
    public func list(_ folder: String) throws(OccupantError) -> [String] { try base.list(folder) }
    public func remove(_ path: String) throws(OccupantError) { try base.remove(path) }
    public func size(_ path: String) throws(OccupantError) -> Int? { try base.size(path) }
    public func makeDirectories(_ path: String) throws(OccupantError) { try base.makeDirectories(path) }
}
