import Foundation

/// Where a test process keeps its files: one folder per process, `occupant-tests-PID` in the system's temporary
/// folder, removed when the process exits. A full run makes thousands of folders (brokers, PostgreSQL clusters, model
/// stores, children's output); left behind, they piled up by the tens of thousands on a developer's machine.
///
/// A run that crashed or was killed cannot clean up after itself: the next test process removes every
/// `occupant-tests-PID` folder whose process is gone. `OCCUPANT_KEEP_TEST_FILES=1` keeps this run's folder (to look
/// at a broker's log or a child's output after a failure); its path is printed at exit.
public enum TestFiles {
    static let prefix = "occupant-tests-"

    /// This process's folder, made (and earlier runs' leftovers removed) on first use.
    public static let root: URL = {
        let parent = FileManager.default.temporaryDirectory
        removeLeftovers(in: parent)
        let root = parent.appendingPathComponent("\(prefix)\(getpid())")
        try? FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        atexit { TestFiles.removeRootAtExit() }
        return root
    }()

    /// Removes the `occupant-tests-PID` folders in `parent` whose process has ended; returns their names.
    @discardableResult
    public static func removeLeftovers(in parent: URL) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: parent.path)) ?? []
        return names.filter { name in
            guard name.hasPrefix(prefix), let pid = pid_t(name.dropFirst(prefix.count)), pid > 0 else { return false }
            // ESRCH: no such process. EPERM means it exists (another user's): kept.
            guard kill(pid, 0) != 0 && errno == ESRCH else { return false }
            return (try? FileManager.default.removeItem(at: parent.appendingPathComponent(name))) != nil
        }
    }

    private static func removeRootAtExit() {
        let path = root.path
        if let keep = ProcessInfo.processInfo.environment["OCCUPANT_KEEP_TEST_FILES"], !keep.isEmpty, keep != "0" {
            FileHandle.standardError.write(Data("test files kept in \(path)\n".utf8))
            return
        }
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// A fresh temporary folder (under `TestFiles.root`, removed when the test process exits).
public func temporaryDirectory(_ name: String = "occupant-test") throws -> URL {
    let dir = TestFiles.root.appendingPathComponent("\(name)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}
