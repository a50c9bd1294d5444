import Foundation

/// The LD_PRELOAD library in tools/fake-i2c that fakes `/dev/i2c-N` for the real Linux bus code, built once per
/// test run into a temporary folder.
public enum FakeI2C {
    private static let built: Result<String, HarnessError> = {
        do {
            let dir = try temporaryDirectory("fake-i2c")
            let output = dir.appendingPathComponent("libfake_i2c.so").path
            let source = packageRoot().appendingPathComponent("tools/fake-i2c/fake_i2c.c").path
            let cc = Process()
            cc.executableURL = try locateExecutable("cc")
            cc.arguments = ["-shared", "-fPIC", "-O2", "-o", output, source, "-ldl"]
            try cc.run()
            waitForExit(cc)
            guard cc.terminationStatus == 0 else { return .failure(HarnessError("cc failed building \(source)")) }
            return .success(output)
        } catch {
            return .failure(HarnessError("cannot build the fake I2C library: \(error)"))
        }
    }()

    /// Path of the built library.
    public static func library() throws -> String { try built.get() }

    /// The environment for a child process whose `/dev/i2c-<bus>` answers from `map` (lines `ADDRESS WRITE READ`).
    public static func environment(map: String, bus: Int = 1) throws -> [String: String] {
        let dir = try temporaryDirectory("fake-i2c-map")
        let mapPath = dir.appendingPathComponent("map.txt").path
        try map.write(toFile: mapPath, atomically: true, encoding: .utf8)
        return [
            "LD_PRELOAD": try library(),
            "OCCUPANT_FAKE_I2C_MAP": mapPath,
            "OCCUPANT_FAKE_I2C_BUS": String(bus),
        ]
    }
}
