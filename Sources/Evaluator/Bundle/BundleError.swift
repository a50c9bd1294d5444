/// Why a model bundle was refused: a stable `reason` (with its CLI exit code) and a one-line message.
public struct BundleError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Stable reasons; scripts and tests match on these, the CLI exits with `exitCode`.
    public enum Reason: String, Sendable, CaseIterable {
        case truncated
        case badMagic
        case unsupportedFormatVersion
        case tooLarge
        case malformedManifest
        case malformedBody
        case trailingData
        case unsigned
        case untrustedKey
        case badSignature
        case expired
        case goldenMismatch
        case incompatible
        case notNewer
        case unreadable

        /// A distinct small exit code per reason (10 and up; never reordered, only appended).
        public var exitCode: Int32 {
            switch self {
            case .truncated: 10
            case .badMagic: 11
            case .unsupportedFormatVersion: 12
            case .tooLarge: 13
            case .malformedManifest: 14
            case .malformedBody: 15
            case .trailingData: 16
            case .unsigned: 17
            case .untrustedKey: 18
            case .badSignature: 19
            case .expired: 20
            case .goldenMismatch: 21
            case .incompatible: 22
            case .notNewer: 23
            case .unreadable: 24
            }
        }
    }

    public var reason: Reason
    public var message: String

    public init(_ reason: Reason, _ message: String) {
        self.reason = reason
        self.message = message
    }

    public var exitCode: Int32 { reason.exitCode }

    /// One line: `model bundle refused (badSignature): …`.
    public var description: String { "model bundle refused (\(reason.rawValue)): \(message)" }
}
