// The server's API speaks the fleet contract (`RetrainOutcome`, `ServerTopics`, the listings): whoever
// imports Server gets it too.
@_exported import FleetProtocol
