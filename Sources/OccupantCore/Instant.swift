/// A point in (possibly simulated) time: seconds since the Unix epoch, UTC.
public struct Instant: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var seconds: Double

    public init(seconds: Double) { self.seconds = seconds }

    public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.seconds < rhs.seconds }

    public static func + (lhs: Instant, rhs: Double) -> Instant { Instant(seconds: lhs.seconds + rhs) }
    public static func - (lhs: Instant, rhs: Instant) -> Double { lhs.seconds - rhs.seconds }

    /// ISO-8601 in UTC with milliseconds, e.g. `2026-11-22T08:30:00.000Z`.
    public var iso8601: String {
        let (year, month, day, millisOfDay) = utcDate
        let hour = millisOfDay / 3_600_000
        let minute = (millisOfDay / 60_000) % 60
        let second = (millisOfDay / 1000) % 60
        let millis = millisOfDay % 1000
        return
            "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2)).\(pad(millis, 3))Z"
    }

    public var description: String { iso8601 }

    /// The UTC calendar day (proleptic Gregorian) and the milliseconds since its midnight, rounded down.
    public var utcDate: (year: Int64, month: Int64, day: Int64, millisOfDay: Int64) {
        let totalMillis = Int64((seconds * 1000).rounded(.down))
        var days = totalMillis / 86_400_000
        var millisOfDay = totalMillis % 86_400_000
        if millisOfDay < 0 {
            millisOfDay += 86_400_000
            days -= 1
        }
        let (year, month, day) = Instant.civil(fromDays: days)
        return (year, month, day, millisOfDay)
    }

    /// Seconds since midnight UTC, in [0, 86400).
    public var secondOfDay: Double {
        let r = seconds.truncatingRemainder(dividingBy: 86_400)
        return r < 0 ? r + 86_400 : r
    }

    /// Day of week, 0 = Monday … 6 = Sunday (UTC).
    public var dayOfWeek: Int {
        let days = Int64((seconds / 86_400).rounded(.down))
        // 1970-01-01 was a Thursday (index 3).
        let r = (days + 3) % 7
        return Int(r < 0 ? r + 7 : r)
    }

    /// Parses `YYYY-MM-DD[T ]hh:mm[:ss[.fff]][Z|±hh:mm]`; a time without a zone is taken as UTC.
    public init?(iso8601 text: String) {
        let bytes = Array(text.utf8)
        var index = 0
        func number(_ count: Int) -> Int? {
            guard index + count <= bytes.count else { return nil }
            var value = 0
            for i in index..<(index + count) {
                let b = bytes[i]
                guard b >= 48, b <= 57 else { return nil }
                value = value * 10 + Int(b - 48)
            }
            index += count
            return value
        }
        func expect(_ c: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == c else { return false }
            index += 1
            return true
        }
        guard let year = number(4), expect(45), let month = number(2), expect(45), let day = number(2) else {
            return nil
        }
        guard (1...12).contains(month), (1...31).contains(day) else { return nil }
        var hour = 0
        var minute = 0
        var second = 0.0
        if index < bytes.count, bytes[index] == 84 || bytes[index] == 32 { // 'T' or ' '
            index += 1
            guard let h = number(2), expect(58), let m = number(2) else { return nil }
            hour = h
            minute = m
            if expect(58) {
                guard let s = number(2) else { return nil }
                second = Double(s)
                if expect(46) {
                    var scale = 0.1
                    var sawDigit = false
                    while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                        second += Double(bytes[index] - 48) * scale
                        scale /= 10
                        index += 1
                        sawDigit = true
                    }
                    guard sawDigit else { return nil }
                }
            }
            guard hour < 24, minute < 60, second < 61 else { return nil }
        }
        var offsetSeconds = 0
        if index < bytes.count {
            if bytes[index] == 90 { // Z
                index += 1
            } else if bytes[index] == 43 || bytes[index] == 45 { // + or -
                let sign = bytes[index] == 43 ? 1 : -1
                index += 1
                guard let oh = number(2) else { return nil }
                _ = expect(58)
                guard let om = number(2) else { return nil }
                offsetSeconds = sign * (oh * 3600 + om * 60)
            }
        }
        guard index == bytes.count else { return nil }
        let days = Instant.days(fromCivil: year, month, day)
        self.seconds = Double(days * 86_400 + Int64(hour * 3600 + minute * 60 - offsetSeconds)) + second
    }

    // Howard Hinnant's civil-from-days and days-from-civil algorithms.
    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }

    static func days(fromCivil year: Int, _ month: Int, _ day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}

@inline(__always)
private func pad<T: BinaryInteger>(_ value: T, _ width: Int) -> String {
    let text = String(value)
    return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
}
