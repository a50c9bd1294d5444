import Foundation

/// Certificates made by openssl for TLS tests, in `dir`: `ca.crt`/`ca.key`, a server certificate for 127.0.0.1
/// signed by that CA (`server.crt`, `server.key`), and an unrelated CA (`other.crt`).
public func makeTestCertificates(_ dir: URL) throws {
    func openssl(_ arguments: [String]) throws {
        let p = Process()
        p.executableURL = try locateExecutable("openssl")
        p.arguments = arguments
        p.currentDirectoryURL = dir
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw HarnessError("openssl \(arguments.joined(separator: " ")) failed") }
    }
    try openssl([
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Occupant Test CA",
        "-keyout", "ca.key", "-out", "ca.crt",
    ])
    try openssl([
        "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "server.key", "-out", "server.csr",
    ])
    try "subjectAltName=IP:127.0.0.1\n".write(
        to: dir.appendingPathComponent("san.ext"), atomically: true, encoding: .utf8)
    try openssl([
        "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
        "-extfile", "san.ext", "-out", "server.crt",
    ])
    try openssl([
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Someone Else",
        "-keyout", "other.key", "-out", "other.crt",
    ])
    for file in ["ca.crt", "server.crt", "server.key", "other.crt"] {
        try FileManager.default.setAttributes(
            [.posixPermissions: 0o644], ofItemAtPath: dir.appendingPathComponent(file).path)
    }
}
