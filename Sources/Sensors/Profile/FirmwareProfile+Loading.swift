import OccupantCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension FirmwareProfile {
    /// Loads and validates a profile file; throws every problem found, each with its key path and line.
    public static func load(path: String) throws(DocumentErrors) -> FirmwareProfile {
        let text = try readDocumentText(path: path, code: .profile, what: "profile")
        return try parse(yaml: text, source: path)
    }

    /// Parses and validates profile YAML.
    public static func parse(yaml: String, source: String = "profile") throws(DocumentErrors) -> FirmwareProfile {
        let reader = DocumentReader(text: yaml, source: source, code: .profile)
        let profile = reader.root.flatMap { parseProfile($0) }
        try reader.finish()
        guard let profile else {
            throw DocumentErrors(
                code: .profile, source: source, issues: [DocumentIssue(path: "", line: nil, message: "not a profile")])
        }
        return profile
    }

    private static let topKeys = ["name", "description", "manufacturer", "model", "firmware", "devices", "channels"]
    private static let deviceKeys = ["name", "chip", "address", "setup", "read"]
    private static let readKeys = ["register", "command", "delay", "length"]
    private static let channelKeys = [
        "name", "device", "field", "mask", "shift", "signed", "scale", "offset", "mappings", "units", "minimum",
        "maximum", "interval", "stuckAfter",
    ]
    private static let fieldKeys = ["at", "size", "order", "crc"]

    private static func parseProfile(_ root: Field) -> FirmwareProfile? {
        guard let map = root.mapping(allowed: topKeys) else { return nil }
        let name = map.required("name")?.string()
        if let n = name, n.isEmpty { map["name"]?.report("must not be empty") }
        let description = map.optional("description")?.string() ?? ""
        let manufacturer = map.optional("manufacturer")?.string() ?? ""
        let model = map.optional("model")?.string() ?? ""
        var firmware = VersionRange("")!
        if let field = map.optional("firmware"), let text = field.string() {
            if let range = VersionRange(text) {
                firmware = range
            } else {
                field.report("expected a version range such as '>=2.1, <3', got '\(text)'")
            }
        }

        var devices: [Device] = []
        // Every name given in `devices`, valid or not: a channel naming a device whose own entry has errors is not
        // reported again (the device's errors are the root cause, said once).
        var declared: [String] = []
        if let list = map.required("devices")?.list() {
            if list.isEmpty { map["devices"]?.report("a profile needs at least one device") }
            for item in list {
                if case .mapping(let mapping) = item.node {
                    for (key, value) in mapping where key.scalar?.string == "name" {
                        if let name = value.scalar?.string { declared.append(name) }
                    }
                }
                guard let device = parseDevice(item) else { continue }
                if devices.contains(where: { $0.name == device.name }) {
                    item.report("duplicate device name '\(device.name)'")
                } else if let other = devices.first(where: { $0.address == device.address }) {
                    item.report("address 0x\(hexString(device.address)) is already used by device '\(other.name)'")
                } else {
                    devices.append(device)
                }
            }
        }

        var channels: [Channel] = []
        if let list = map.required("channels")?.list() {
            if list.isEmpty { map["channels"]?.report("a profile needs at least one channel") }
            for item in list {
                guard let channel = parseChannel(item, devices: devices, declared: declared) else { continue }
                if channels.contains(where: { $0.name == channel.name }) {
                    item.report("duplicate channel name '\(channel.name)'")
                } else {
                    channels.append(channel)
                }
            }
        }
        guard let name else { return nil }
        return FirmwareProfile(
            name: name, description: description, manufacturer: manufacturer, model: model, firmware: firmware,
            devices: devices, channels: channels)
    }

    private static func parseDevice(_ item: Field) -> Device? {
        guard let map = item.mapping(allowed: deviceKeys) else { return nil }
        let name = map.required("name")?.string()
        let chip = map.optional("chip")?.string()
        // 7-bit addresses; 0x00–0x02 and 0x78–0x7F are reserved by the I2C specification.
        let address = map.required("address")?.int(in: 0x03...0x77)
        var setup: [[UInt8]] = []
        if let list = map.optional("setup")?.list() {
            for write in list {
                if let bytes = write.bytes() {
                    if bytes.isEmpty {
                        write.report("a setup write needs at least one byte")
                    } else {
                        setup.append(bytes)
                    }
                }
            }
        }
        var read: ReadMethod?
        if let readField = map.required("read"), let readMap = readField.mapping(allowed: readKeys) {
            let length = readMap.required("length")?.int(in: 1...32)
            let register = readMap.optional("register")
            let command = readMap.optional("command")
            let delay = readMap.optional("delay")?.duration()
            if register != nil && command != nil {
                readField.report("give either 'register' or 'command', not both")
            } else if let register {
                if readMap.optional("delay") != nil { readField.report("'delay' goes with 'command', not 'register'") }
                let pointer: [UInt8]?
                if case .sequence = register.node {
                    pointer = register.bytes()
                } else {
                    pointer = register.int(in: 0...255).map { [UInt8($0)] }
                }
                if let pointer, let length { read = .register(pointer, length: length) }
            } else if let command {
                if let bytes = command.bytes(), let length {
                    if bytes.isEmpty {
                        command.report("a command needs at least one byte")
                    } else {
                        read = .command(bytes, delay: delay ?? 0, length: length)
                    }
                }
            } else if let length {
                if readMap.optional("delay") != nil { readField.report("'delay' goes with 'command'") }
                read = .plain(length: length)
            }
        }
        guard let name, let address, let read else { return nil }
        return Device(name: name, chip: chip, address: UInt8(address), setup: setup, read: read)
    }

    private static func parseChannel(_ item: Field, devices: [Device], declared: [String]) -> Channel? {
        guard let map = item.mapping(allowed: channelKeys) else { return nil }
        let name = map.required("name")?.string()
        if let name, !isValidChannelName(name) {
            map["name"]?.report("'\(name)' is not a valid channel name (letters, digits and _; starting with a letter)")
        }
        var device: Device?
        if let deviceField = map.required("device"), let deviceName = deviceField.string() {
            device = devices.first { $0.name == deviceName }
            if device == nil && !declared.contains(deviceName) {
                deviceField.report("no device named '\(deviceName)' (devices: \(declared.joined(separator: ", ")))")
            }
        }
        var layout: FieldLayout?
        if let fieldField = map.required("field"), let fieldMap = fieldField.mapping(allowed: fieldKeys) {
            let at = fieldMap.optional("at")?.int(in: 0...31) ?? 0
            let size = fieldMap.required("size")?.int(in: 1...8)
            var order = FieldLayout.ByteOrder.big
            if let text = fieldMap.optional("order")?.choice(["big", "little"]) {
                order = FieldLayout.ByteOrder(rawValue: text)!
            }
            var crc: CRC?
            if let crcField = fieldMap.optional("crc"), let text = crcField.choice(CRC.allCases.map(\.rawValue)) {
                crc = CRC(rawValue: text)
            }
            if let size {
                let candidate = FieldLayout(at: at, size: size, order: order, crc: crc)
                if let device, at + candidate.span > device.read.length {
                    fieldField.report(
                        "bytes \(at)…\(at + candidate.span - 1) lie outside the \(device.read.length) bytes read from device '\(device.name)'"
                    )
                } else {
                    layout = candidate
                }
            }
        }
        var mask: UInt64?
        if let maskField = map.optional("mask"), let value = maskField.double() {
            if value < 1 || value != value.rounded() || value >= 0x1p64 {
                maskField.report("mask must be a positive whole number")
            } else {
                mask = UInt64(value)
            }
        }
        let shift = map.optional("shift")?.int(in: 0...63) ?? 0
        var signedBits: Int?
        if let signedField = map.optional("signed") {
            if case .scalar(let s) = signedField.node, Int(s.string) != nil {
                signedBits = signedField.int(in: 2...64)
            } else if signedField.bool() == true, let layout {
                let width = mask.map { 64 - ($0 >> UInt64(shift)).leadingZeroBitCount } ?? (layout.size * 8 - shift)
                signedBits = max(2, width)
            }
        }
        let scale = map.optional("scale")?.double() ?? 1
        if scale == 0 { map["scale"]?.report("scale must not be 0") }
        let offset = map.optional("offset")?.double() ?? 0
        var mappings: [(raw: UInt64, value: String)]?
        if let mappingField = map.optional("mappings"), let entries = mappingField.entries() {
            var list: [(raw: UInt64, value: String)] = []
            for (key, field) in entries {
                guard let raw = parseNumber(key), raw >= 0, raw == raw.rounded() else {
                    field.report("mapping key '\(key)' is not a whole number")
                    continue
                }
                guard let value = field.string() else { continue }
                if list.contains(where: { $0.raw == UInt64(raw) }) {
                    field.report("duplicate mapping for \(key)")
                    continue
                }
                if name == "hvac", HVACMode(rawValue: value) == nil {
                    field.report(
                        "hvac values must be one of \(HVACMode.allCases.map(\.rawValue).joined(separator: ", ")), got '\(value)'"
                    )
                    continue
                }
                list.append((UInt64(raw), value))
            }
            if list.isEmpty { mappingField.report("mappings must not be empty") }
            mappings = list
        }
        let units = map.optional("units")?.string()
        let minimum = map.optional("minimum")?.double()
        let maximum = map.optional("maximum")?.double()
        if let minimum, let maximum, minimum >= maximum {
            map["maximum"]?.report(
                "maximum \(formatNumber(maximum)) must be greater than minimum \(formatNumber(minimum))")
        }
        var interval = 1.0
        if let field = map.optional("interval"), let value = field.duration() {
            if value <= 0 { field.report("interval must be positive") } else { interval = value }
        }
        let stuckAfter = map.optional("stuckAfter")?.duration()

        if let name {
            switch name {
            case "hvac" where mappings == nil:
                item.report(
                    "channel 'hvac' is categorical: give 'mappings' from raw values to \(HVACMode.allCases.map(\.rawValue).joined(separator: "|"))"
                )
            case "temperature", "sound":
                if mappings != nil { item.report("channel '\(name)' is numeric: remove 'mappings'") }
                if name == "temperature", let units, !["°C", "C", "degC", "celsius"].contains(units) {
                    map["units"]?.report(
                        "temperature is kept in °C inside Occupant: convert with scale/offset and write units: °C")
                }
            default: break
            }
        }
        guard let name, let device, let layout else { return nil }
        return Channel(
            name: name, device: device.name, field: layout, mask: mask, shift: shift, signedBits: signedBits,
            scale: scale, offset: offset, mappings: mappings, units: units, minimum: minimum, maximum: maximum,
            interval: interval, stuckAfter: stuckAfter)
    }
}

func isValidChannelName(_ name: String) -> Bool {
    guard let first = name.unicodeScalars.first, first.properties.isAlphabetic, first.isASCII else { return false }
    return name.unicodeScalars.allSatisfy {
        $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_")
    }
}
