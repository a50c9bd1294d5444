import OccupantCore
import Testing

@testable import Gateway

@Suite struct ProfileLocatorTests {
    @Test func installedBinariesLookInTheirShareFolderAndCheckoutsInTheRepository() {
        let installed = ProfileLocator.searchFolders(environment: nil, executable: "/opt/occupant/bin/occupant")
        #expect(installed.contains("/opt/occupant/share/occupant/firmware-profiles"))
        #expect(installed.first == "/etc/occupant/firmware-profiles")
        let checkout = ProfileLocator.searchFolders(
            environment: nil, executable: "/src/occupant/.build/x86_64-unknown-linux-gnu/debug/occupant")
        #expect(checkout.contains("/src/occupant/firmware-profiles"))
        #expect(Set(checkout).count == checkout.count)
    }

    @Test func theEnvironmentComesFirstThenTheConfigurationFolder() {
        let folders = ProfileLocator.searchFolders(
            configPath: "/etc/gw/gateway.yaml", environment: "/a:/b", executable: "/usr/bin/occupant")
        #expect(Array(folders.prefix(4)) == ["/a", "/b", "/etc/gw", "/etc/gw/firmware-profiles"])
        #expect(folders.contains("/usr/share/occupant/firmware-profiles"))
    }

    @Test func aMissingProfileSaysWhereItLooked() {
        do {
            _ = try ProfileLocator.locate("no-such-board", configPath: "/etc/gw/gateway.yaml")
            Issue.record("expected not found")
        } catch {
            #expect(error.code == .profile)
            #expect(error.message.hasPrefix("profile 'no-such-board' not found: looked for no-such-board.yaml in "))
            #expect(error.message.contains("/etc/gw/firmware-profiles, /etc/occupant/firmware-profiles"))
            #expect(!error.message.contains("\n"))
        }
        do {
            _ = try ProfileLocator.locate("boards/missing.yaml")
            Issue.record("expected not found")
        } catch {
            #expect(error.message == "profile 'boards/missing.yaml' not found: no readable file at that path")
        }
    }
}
