import OccupantCLI

await OccupantCommand.run(arguments: Array(CommandLine.arguments.dropFirst()))
