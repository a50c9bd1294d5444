// The gateway's API speaks the fleet contract (`GatewayTopics`, `ModelAnnouncement`, `ModelStatusDocument`): whoever
// imports Gateway gets it too.
@_exported import FleetProtocol
