import Foundation
import OccupantTesting

#if canImport(Glibc)
    import Glibc
#endif

/// Debian's chromium, headless, driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`: commands in
/// on fd 3, answers and events out on fd 4, each a JSON text ended by a NUL byte): one browser with one page and its
/// cookie jar kept across navigations, so a test can log in, click and load the next page as a person would.
final class DevToolsBrowser: @unchecked Sendable {
    let pid: pid_t
    private let commands: Int32
    private let answers: Int32
    private let profile: URL
    private var buffer: [UInt8] = []
    private var nextID = 1
    private var session: String?
    private let lock = NSLock()

    init() throws {
        guard let executable = Chromium.path else {
            throw HarnessError("no chromium: install Debian's chromium (tools/test does: ensure_browser)")
        }
        profile = try temporaryDirectory("chromium-devtools")
        // Both pipes' ends above fd 4, close-on-exec: the child gets exactly fds 3 and 4 (dup2 clears the flag).
        func pipeAbove() throws -> (read: Int32, write: Int32) {
            var fds: [Int32] = [0, 0]
            guard pipe(&fds) == 0 else { throw HarnessError("pipe: errno \(errno)") }
            let high = fds.map { fcntl($0, F_DUPFD_CLOEXEC, 10) }
            close(fds[0])
            close(fds[1])
            return (high[0], high[1])
        }
        let toBrowser = try pipeAbove()
        let fromBrowser = try pipeAbove()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, toBrowser.read, 3)
        posix_spawn_file_actions_adddup2(&actions, fromBrowser.write, 4)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let arguments = [
            executable, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--disable-dev-shm-usage",
            "--hide-scrollbars", "--user-data-dir=\(profile.path)", "--remote-debugging-pipe", "about:blank",
        ]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        var envp: [UnsafeMutablePointer<CChar>?] =
            ProcessInfo.processInfo.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv + envp { free(pointer) }
        }
        var child: pid_t = 0
        let status = posix_spawn(&child, executable, &actions, nil, &argv, &envp)
        close(toBrowser.read)
        close(fromBrowser.write)
        guard status == 0 else {
            close(toBrowser.write)
            close(fromBrowser.read)
            throw HarnessError("cannot start \(executable): errno \(status)")
        }
        pid = child
        commands = toBrowser.write
        answers = fromBrowser.read
    }

    deinit {
        kill(pid, SIGTERM)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        close(commands)
        close(answers)
        try? FileManager.default.removeItem(at: profile)
    }

    /// Sends one command (to the page's session once there is one) and waits up to `timeout` s for its answer; events
    /// read meanwhile are dropped. Blocking reads run on a thread of their own, off the cooperative pool the server
    /// under test answers on.
    func call(_ method: String, _ params: [String: Any] = [:], browser: Bool = false, timeout: Double = 60)
        async throws -> [String: Any]
    {
        let id = lock.withLock {
            defer { nextID += 1 }
            return nextID
        }
        var message: [String: Any] = ["id": id, "method": method, "params": params]
        if !browser, let session { message["sessionId"] = session }
        let bytes = Array(try JSONSerialization.data(withJSONObject: message)) + [0]
        let answer: Data = try await withCheckedThrowingContinuation { continuation in
            Thread {
                do {
                    continuation.resume(returning: try self.exchange(bytes, id: id, timeout: timeout))
                } catch {
                    continuation.resume(throwing: error)
                }
            }.start()
        }
        let object = try JSONSerialization.jsonObject(with: answer) as? [String: Any] ?? [:]
        if let error = object["error"] as? [String: Any] {
            throw HarnessError("DevTools \(method): \(error["message"] ?? error)")
        }
        return object["result"] as? [String: Any] ?? [:]
    }

    private func exchange(_ bytes: [UInt8], id: Int, timeout: Double) throws -> Data {
        lock.lock()
        defer { lock.unlock() }
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(commands, $0.baseAddress, $0.count) }
            guard n > 0 else { throw HarnessError("writing to chromium: errno \(errno)") }
            written += n
        }
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            while let end = buffer.firstIndex(of: 0) {
                let text = Data(buffer[..<end])
                buffer.removeSubrange(...end)
                if let object = try? JSONSerialization.jsonObject(with: text) as? [String: Any],
                    object["id"] as? Int == id
                {
                    return text
                }
            }
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { throw HarnessError("chromium did not answer command \(id) within \(timeout) s") }
            var poller = pollfd(fd: answers, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, Int32(min(left, 1) * 1000)) >= 0 else { continue }
            guard poller.revents != 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 65_536)
            let n = read(answers, &chunk, chunk.count)
            guard n > 0 else { throw HarnessError("chromium closed its DevTools pipe") }
            buffer += chunk[..<n]
        }
    }

    /// A page of its own, attached (later commands go to it).
    func openPage() async throws {
        let target = try await call("Target.createTarget", ["url": "about:blank"], browser: true)
        let attached = try await call(
            "Target.attachToTarget", ["targetId": target["targetId"] as? String ?? "", "flatten": true], browser: true)
        session = attached["sessionId"] as? String
    }

    func navigate(_ url: String) async throws { _ = try await call("Page.navigate", ["url": url]) }

    /// A JavaScript expression's value in the page (DevTools evaluation; the page's own policy allows no script).
    func evaluate(_ expression: String, awaitPromise: Bool = false) async throws -> Any? {
        let result = try await call(
            "Runtime.evaluate", ["expression": expression, "returnByValue": true, "awaitPromise": awaitPromise])
        return (result["result"] as? [String: Any])?["value"]
    }

    /// Waits until the page has loaded `path` (its URL's path) and returns its DOM; fails after `timeout` s.
    func waitForPage(_ path: String, timeout: Double = 60) async throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            // While a navigation replaces the page, its evaluation context may be gone: asked again.
            let state = try? await evaluate("location.pathname + ' ' + document.readyState") as? String
            if state == "\(path) complete",
                let dom = try? await evaluate("document.documentElement.outerHTML") as? String
            {
                return dom
            }
            // Polls every 50 ms of the page's own timers until the deadline.
            _ = try? await evaluate("new Promise(r => setTimeout(() => r(0), 50))", awaitPromise: true)
        }
        throw HarnessError("the page did not reach \(path) within \(timeout) s")
    }

    /// A real mouse click (pressed and released) at the centre of the first element matching `selector`.
    func click(_ selector: String) async throws {
        let escaped = selector.replacingOccurrences(of: "'", with: "\\'")
        guard
            let centre = try await evaluate(
                "(() => { const r = document.querySelector('\(escaped)').getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2] })()"
            ) as? [Double], centre.count == 2
        else { throw HarnessError("no element \(selector) to click") }
        for type in ["mousePressed", "mouseReleased"] {
            _ = try await call(
                "Input.dispatchMouseEvent",
                ["type": type, "x": centre[0], "y": centre[1], "button": "left", "clickCount": 1])
        }
    }

    /// The cookies the browser holds for `url`, by name.
    func cookies(_ url: String) async throws -> [String] {
        let result = try await call("Network.getCookies", ["urls": [url]])
        return (result["cookies"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
    }
}
