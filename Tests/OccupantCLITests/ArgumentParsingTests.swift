import ArgumentParser
import Testing

@testable import OccupantCLI

/// The command line as the parser sees it: no process, no files.
@Suite struct ArgumentParsingTests {
    @Test func trainTakesItsOptions() throws {
        let parsed = try OccupantCommand.parseAsRoot([
            "train", "--data", "d.csv", "--time", "t", "--label", "occupied", "--out", "m.occmodel", "--model-version",
            "4",
            "--trials", "9", "--no-monotone",
        ])
        let train = try #require(parsed as? TrainCommand)
        #expect(train.data == "d.csv")
        #expect(train.version == 4)
        #expect(train.trials == 9)
        #expect(train.monotone == false)
    }

    @Test func modelImportTakesTheModelVersion() throws {
        let parsed = try OccupantCommand.parseAsRoot([
            "model", "import", "--xgboost", "m.json", "--features", "a,b", "--signing-key", "k.key", "--out",
            "m.occmodel",
            "--model-version", "7", "--scope", "room:2.14",
        ])
        let command = try #require(parsed as? ModelImportCommand)
        #expect(command.version == 7)
        #expect(command.scope == "room:2.14")
    }

    @Test func verifyNeedsNoProfile() throws {
        let parsed = try OccupantCommand.parseAsRoot(["model", "verify", "m.occmodel", "--trusted-key", "k.pub"])
        let command = try #require(parsed as? ModelVerifyCommand)
        #expect(command.profile == nil)
        #expect(command.trustedKeys == ["k.pub"])
    }

    @Test func gatewayRunIsTheDefaultAndSimulateMayStandAlone() throws {
        let parsed = try OccupantCommand.parseAsRoot(
            OccupantCommand.expandingOptionalValues(["gateway", "--simulate", "--speed", "60"]))
        let run = try #require(parsed as? GatewayRunCommand)
        #expect(run.simulate == "day")
        #expect(run.speed == 60)
    }

    @Test func serverClientCommandsTakeAURL() throws {
        let parsed = try OccupantCommand.parseAsRoot(["server", "retrain", "--url", "http://h:1/", "--scope", "office"])
        let retrain = try #require(parsed as? ServerCommand.Retrain)
        #expect(retrain.scope == "office")
        #expect(try retrain.client.baseURL() == ("http://h:1", false))
    }

    @Test(arguments: [
        ["train", "--bogus"],
        ["train", "--data", "d.csv"],
        ["train", "--data", "d.csv", "--time", "t", "--label", "l", "--out", "m", "--trials", "0"],
        ["train", "--data", "d.csv", "--time", "t", "--label", "l", "--out", "m", "--model-version", "zero"],
        ["model", "import", "--features", "a", "--signing-key", "k", "--out", "o"],
        ["gateway", "run", "--simulate", "day", "--bus", "1"],
        ["gateway", "run", "--broker", "no-port"],
        ["sensors", "read", "--profile", "p"],
        ["server", "retrain"],
        ["no-such-command"],
    ])
    func badArgumentsAreUsageErrorsWithStatus2(arguments: [String]) {
        do {
            _ = try OccupantCommand.parseAsRoot(arguments)
            Issue.record("\(arguments) parsed")
        } catch {
            #expect(OccupantCommand.exitStatus(for: error) == 2, "\(OccupantCommand.fullMessage(for: error))")
        }
    }

    @Test func helpAndVersionAreNotErrors() {
        #expect(OccupantCommand.exitStatus(for: CleanExit.helpRequest()) == 0)
        #expect(OccupantCommand.exitStatus(for: CleanExit.message("occupant 1")) == 0)
        #expect(OccupantCommand.exitStatus(for: ExitCode(3)) == 3)
    }

    @Test func retrainExitsZeroOnlyWhenPromoted() {
        typealias Retrain = ServerCommand.Retrain
        #expect(
            Retrain.exitStatus(for: .init(scope: "o", version: 2, promoted: true, reason: "better", sha256: "x")) == 0)
        #expect(
            Retrain.exitStatus(for: .init(scope: "o", version: 2, promoted: false, reason: "worse", sha256: "x")) == 3)
        #expect(
            Retrain.exitStatus(for: .init(scope: "o", version: nil, promoted: false, reason: "no data", sha256: nil))
                == 3)
    }
}
