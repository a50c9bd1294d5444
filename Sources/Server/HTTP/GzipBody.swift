import CompressNIO
import NIOCore

/// A request body sent with `Content-Encoding: gzip` (issue 15 §4), inflated with a hard limit on the result, so a
/// small body that inflates to gigabytes (a gzip bomb) costs at most `limit` bytes of memory and is refused with 413.
enum GzipBody {
    /// The inflated bytes of one gzip member; `limit` caps the inflated size (`intake.maxBodyBytes`).
    static func inflate(_ body: ByteBuffer, limit: Int) throws(APIError) -> [UInt8] {
        var input = body
        let inflated: ByteBuffer
        do {
            // One byte over the limit tells "exactly at the limit" from "more than that".
            inflated = try input.decompress(with: .gzip, maxSize: limit + 1)
        } catch let error as CompressNIOError where error == .bufferOverflow {
            throw tooLarge(limit)
        } catch {
            throw APIError(.badRequest, "the gzip body is not valid gzip data (\(error))")
        }
        guard inflated.readableBytes <= limit else { throw tooLarge(limit) }
        // zlib checks the CRC when it reaches the end of the member, but says nothing when the input stops before it:
        // the trailer's size (the inflated length modulo 2^32) must match, or the body was cut or holds more than
        // one member.
        let trailer = body.getInteger(
            at: body.readerIndex + body.readableBytes - 4, endianness: .little, as: UInt32.self)
        guard body.readableBytes >= 18, let trailer, trailer == UInt32(truncatingIfNeeded: inflated.readableBytes)
        else {
            throw APIError(
                .badRequest, "the gzip body is cut short or is not one gzip member (its trailer does not match)")
        }
        return Array(inflated.readableBytesView)
    }

    private static func tooLarge(_ limit: Int) -> APIError {
        APIError(.contentTooLarge, "the gzip body inflates to more than \(limit) bytes (intake.maxBodyBytes)")
    }
}
