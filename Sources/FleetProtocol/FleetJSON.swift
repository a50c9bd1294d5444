#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// How every fleet document is written and read: keys sorted, `/` unescaped; documents keep non-finite numbers out (null), and an
/// encoder that meets one anyway writes `"nan"`, `"inf"`, `"-inf"` rather than failing. Reading is strict: a string is
/// never taken for a number.
public enum FleetJSON {
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        JSONDecoder()
    }

    /// The document as compact JSON text.
    public static func text(_ document: some Encodable) throws -> String {
        String(decoding: try encoder().encode(document), as: UTF8.self)
    }

    /// The document as compact JSON bytes.
    public static func bytes(_ document: some Encodable) throws -> [UInt8] {
        Array(try encoder().encode(document))
    }

    public static func decode<Document: Decodable>(_ type: Document.Type, from bytes: some Sequence<UInt8>) throws
        -> Document
    {
        try decoder().decode(type, from: Data(bytes))
    }
}
