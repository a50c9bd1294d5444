import Foundation
import OccupantTesting
import Testing

@testable import Gateway

@Suite struct ModelStoreTests {
    @Test func installKeepsPreviousAndRollbackSwaps() throws {
        let dir = try temporaryDirectory("store")
        let store = ModelStore(stateDirectory: dir.path)
        #expect(store.activeFile == nil)
        try store.install([1, 2, 3], modelID: "office", version: 1)
        try store.install([4, 5, 6], modelID: "office", version: 2)
        #expect(store.activeFile == "office-v2.occmodel")
        #expect(store.previousFile == "office-v1.occmodel")
        #expect(store.list().map(\.version) == [2, 1])
        #expect(try store.rollback() == "office-v1.occmodel")
        #expect(store.activeFile == "office-v1.occmodel")
        #expect(store.previousFile == "office-v2.occmodel")
        #expect(try Data(contentsOf: URL(fileURLWithPath: store.path(of: "office-v1.occmodel"))) == Data([1, 2, 3]))
    }

    @Test func leftoversOfAnInterruptedInstallAreIgnored() throws {
        let dir = try temporaryDirectory("store-crash")
        let store = ModelStore(stateDirectory: dir.path)
        try store.install([1], modelID: "m", version: 1)
        // A power cut mid-install leaves a temporary file; one before the rename of `active` leaves the old pointer.
        try Data([9, 9]).write(to: URL(fileURLWithPath: store.directory + "/.tmp-123-456"))
        #expect(store.list().map(\.file) == ["m-v1.occmodel"])
        #expect(store.activeFile == "m-v1.occmodel")
        // A pointer that names a missing or foreign file is not followed.
        try "../../etc/passwd\n".write(toFile: store.directory + "/active", atomically: true, encoding: .utf8)
        #expect(store.activeFile == nil)
        try "m-v7.occmodel\n".write(toFile: store.directory + "/active", atomically: true, encoding: .utf8)
        #expect(store.activeFile == nil)
    }

    @Test func nothingToRollBackTo() throws {
        let store = ModelStore(stateDirectory: try temporaryDirectory("store-empty").path)
        #expect(throws: (any Error).self) { try store.rollback() }
    }
}
