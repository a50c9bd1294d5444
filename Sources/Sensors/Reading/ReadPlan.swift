import OccupantCore

/// A profile compiled once for sampling: devices and channels by index, and the strings a failure message needs,
/// so that a sample looks nothing up by name and builds no text unless something fails.
struct ReadPlan: Sendable {
    struct Device: Sendable {
        var profile: FirmwareProfile.Device
        /// Indices into the profile's channels of the channels this device feeds, in profile order.
        var channels: [Int]
        /// `SHT31 at 0x44 on /dev/i2c-1`: how decode problems name the device.
        var label: String
        /// `SHT31` (or the device's name): how bus errors name the device.
        var chip: String
    }

    var devices: [Device]
    /// For each channel (profile order), the index of its device.
    var deviceOfChannel: [Int]
    /// The shortest channel interval.
    var interval: Double

    init(profile: FirmwareProfile, busName: String) {
        var devices = profile.devices.map { device in
            Device(
                profile: device, channels: [], label: "\(device.label) on \(busName)", chip: device.chip ?? device.name)
        }
        var deviceOfChannel: [Int] = []
        for (c, channel) in profile.channels.enumerated() {
            guard let d = profile.devices.firstIndex(where: { $0.name == channel.device }) else {
                preconditionFailure(
                    "profile \(profile.name): channel \(channel.name) names no device (validated on load)")
            }
            devices[d].channels.append(c)
            deviceOfChannel.append(d)
        }
        self.devices = devices
        self.deviceOfChannel = deviceOfChannel
        self.interval = profile.channels.map(\.interval).min() ?? 1
    }
}
