import ArgumentParser
import Evaluator
import Gateway
import OccupantCore

#if canImport(Glibc)
    import Glibc
#endif

/// `occupant store-crash-loop` (hidden, for the crash test): installs bundles into a model store without end, so a
/// test can SIGKILL it at any moment and check what the store holds afterwards.
///
/// Each bundle checks itself: `v<version>\n`, a payload derived from the version, then the SHA-256 (hex) of all that.
struct StoreCrashCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store-crash-loop",
        abstract: "Install self-checking bundles into a model store until killed (for the crash test).",
        shouldDisplay: false)

    @Option(help: "State folder holding the store.") var state: String
    @Option(help: "Payload bytes per bundle.") var size: Int = 64 << 10

    func run() throws {
        try reporting {
            let store = ModelStore.open(stateDirectory: state)
            // The folder exists before the test hears "installing": a kill right after it still leaves a store.
            try store.files.makeDirectories(store.directory)
            var version = (store.list().map(\.version).max() ?? 0) + 1
            let line = "installing from v\(version)\n"
            _ = line.withCString { write(1, $0, strlen($0)) }
            while true {
                try store.install(Self.bundle(version: version, size: size), modelID: "crash", version: version)
                // Keep the folder small: only the active and the previous bundle stay.
                for entry in store.list() where !entry.isActive && !entry.isPrevious {
                    try store.files.remove(store.path(of: entry.file))
                }
                version += 1
            }
        }
    }

    static func bundle(version: Int, size: Int) -> [UInt8] {
        var bytes = Array("v\(version)\n".utf8)
        var x = UInt64(truncatingIfNeeded: version) &* 0x9E37_79B9_7F4A_7C15
        bytes.reserveCapacity(bytes.count + size + 64)
        for _ in 0..<size {
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            bytes.append(UInt8(truncatingIfNeeded: x >> 56))
        }
        return bytes + Array(sha256Hex(bytes).utf8)
    }
}
