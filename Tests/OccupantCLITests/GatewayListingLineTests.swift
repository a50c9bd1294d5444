import FleetProtocol
import Testing

@testable import OccupantCLI

/// `occupant server gateways` names a gateway's last automatic rollback after its refusal, and says nothing of one
/// when there is none.
struct GatewayListingLineTests {
    @Test func aRollbackIsShownOnTheGatewaysLine() {
        var gateway = GatewayListing.Gateway(
            id: "gw-a", scope: "office", assigned: "office@5", assignedSha256: nil, active: "office@4",
            activeSha256: nil, refused: nil, reportedAt: nil)
        #expect(
            ServerCommand.Gateways.lines(.init(gateways: [gateway])) == [
                "gw-a  scope office  assigned office@5  active office@4"
            ])
        gateway.rolledBack = "v5 stuck: probability 0.5 unchanged for 1203 s"
        #expect(
            ServerCommand.Gateways.lines(.init(gateways: [gateway])) == [
                "gw-a  scope office  assigned office@5  active office@4  rolled back: v5 stuck: probability 0.5 unchanged for 1203 s"
            ])
    }
}
