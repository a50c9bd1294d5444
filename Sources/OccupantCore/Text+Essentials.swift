#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

// Text helpers for the gateway's targets, which import FoundationEssentials only (no ICU): the few full-Foundation
// calls they used, with the same output.

extension String {
    /// `printf`-style formatting through the C library (`String(format:)` without full Foundation), e.g.
    /// `String(cFormat: "%.4g", x)`. Numbers are written in the C locale, as `String(format:)` writes them.
    public init(cFormat format: String, _ arguments: any CVarArg...) {
        let count = withVaList(arguments) { vsnprintf(nil, 0, format, $0) }
        guard count > 0 else {
            self = ""
            return
        }
        var buffer = [CChar](repeating: 0, count: Int(count) + 1)
        _ = withVaList(arguments) { list in
            buffer.withUnsafeMutableBufferPointer { vsnprintf($0.baseAddress, $0.count, format, list) }
        }
        self = string(fromCBuffer: buffer)
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs: `trimmingWhitespace()` (Unicode category Zs, U+0009
    /// and U+200B).
    public func trimmingWhitespace() -> String { trimming(Unicode.Scalar.isWhitespace) }

    /// Without leading and trailing white space and line ends: `trimmingWhitespaceAndNewlines()`
    /// (Unicode category Z, U+0009–U+000D,
    /// U+0085 and U+200B).
    public func trimmingWhitespaceAndNewlines() -> String { trimming(Unicode.Scalar.isWhitespaceOrNewline) }

    private func trimming(_ drop: (Unicode.Scalar) -> Bool) -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !drop($0) }) else { return "" }
        let last = scalars.lastIndex(where: { !drop($0) })!
        var trimmed = String.UnicodeScalarView()
        trimmed.append(contentsOf: scalars[first...last])
        return String(trimmed)
    }
}

extension Unicode.Scalar {
    /// Foundation's `CharacterSet.whitespaces`.
    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        // Foundation's set also holds U+200B (zero width space).
        scalar == "\t" || scalar == "\u{200B}" || scalar.properties.generalCategory == .spaceSeparator
    }

    /// Foundation's `CharacterSet.whitespacesAndNewlines`.
    static func isWhitespaceOrNewline(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x85, 0x200B: return true
        default:
            switch scalar.properties.generalCategory {
            case .spaceSeparator, .lineSeparator, .paragraphSeparator: return true
            default: return false
            }
        }
    }
}
