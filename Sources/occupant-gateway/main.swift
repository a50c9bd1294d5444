import GatewayDaemon

await CommandLineRunner.run(GatewayDaemonCommand.self, arguments: Array(CommandLine.arguments.dropFirst()))
