import Synchronization

/// The dashboard's logins, in memory: a restart logs everyone out. A session is a random id (the cookie) with its role,
/// its CSRF token and its expiry; a one-time login code (`POST /v1/dashboard/login-link`) becomes a session once.
final class DashboardSessions: Sendable {
    enum Role: String, Sendable {
        /// Sees and acts (acknowledge, abort, resume, rollback).
        case admin
        /// Sees everything, changes nothing.
        case viewer
    }

    struct Session: Sendable, Equatable {
        let id: String
        let role: Role
        /// Sent back with every state-changing POST.
        let csrf: String
        let expires: Double
    }

    let timeout: Double
    /// How long a one-time code stays usable (seconds).
    let codeTimeout: Double
    private let state = Mutex<(sessions: [String: Session], codes: [String: (role: Role, expires: Double)])>(([:], [:]))

    init(timeout: Double, codeTimeout: Double = 300) {
        self.timeout = timeout
        self.codeTimeout = codeTimeout
    }

    /// A new session for `role`.
    func open(_ role: Role, now: Double) -> Session {
        let session = Session(id: Self.randomToken(), role: role, csrf: Self.randomToken(), expires: now + timeout)
        state.withLock { s in
            s.sessions = s.sessions.filter { $0.value.expires > now }
            s.sessions[session.id] = session
        }
        return session
    }

    /// The live session with this id, or nil (unknown, logged out or expired).
    func session(_ id: String, now: Double) -> Session? {
        state.withLock { s in
            guard let session = s.sessions[id] else { return nil }
            guard session.expires > now else {
                s.sessions[id] = nil
                return nil
            }
            return session
        }
    }

    func close(_ id: String) {
        _ = state.withLock { s in s.sessions.removeValue(forKey: id) }
    }

    /// A one-time login code for `role`, usable for `codeTimeout` seconds.
    func code(_ role: Role, now: Double) -> (code: String, expires: Double) {
        let code = Self.randomToken()
        let expires = now + codeTimeout
        state.withLock { s in
            s.codes = s.codes.filter { $0.value.expires > now }
            s.codes[code] = (role, expires)
        }
        return (code, expires)
    }

    /// Spends a one-time code: its session, or nil when the code is unknown, spent or expired.
    func redeem(_ code: String, now: Double) -> Session? {
        let role: Role? = state.withLock { s in
            guard let entry = s.codes.removeValue(forKey: code), entry.expires > now else { return nil }
            return entry.role
        }
        return role.map { open($0, now: now) }
    }

    /// 32 random bytes as hex (the system's CSPRNG).
    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef")
        var out = ""
        for _ in 0..<32 {
            let byte = UInt8.random(in: 0...255, using: &generator)
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return out
    }
}
