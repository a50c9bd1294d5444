import OccupantCLI

#if canImport(Glibc)
    import Glibc
#endif

/// `occupant gateway [run] FLAGS` becomes the lean `occupant-gateway FLAGS` when that binary is installed next to this
/// one: the same process (pid, signals, NOTIFY_SOCKET), without the training host's stacks mapped. Without it, or
/// with `OCCUPANT_GATEWAY_IN_PROCESS=1`, or for help, the gateway runs here.
func execLeanGateway(_ arguments: [String]) {
    guard arguments.first == "gateway", getenv("OCCUPANT_GATEWAY_IN_PROCESS") == nil else { return }
    var flags = Array(arguments.dropFirst())
    if flags.first == "run" {
        flags.removeFirst()
    } else if let first = flags.first, !first.hasPrefix("-") {
        return // another subcommand (monitor-bench, help)
    }
    guard !flags.contains(where: { $0 == "-h" || $0 == "--help" || $0 == "--version" }) else { return }
    var buffer = [CChar](repeating: 0, count: 4096)
    let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard length > 0 else { return }
    let executable = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    guard let slash = executable.lastIndex(of: "/") else { return }
    let lean = String(executable[...slash]) + "occupant-gateway"
    guard access(lean, X_OK) == 0 else { return }
    var argv: [UnsafeMutablePointer<CChar>?] = ([lean] + flags).map { strdup($0) }
    argv.append(nil)
    execv(lean, &argv)
    // execv returned: it failed; run in this process instead.
}

execLeanGateway(Array(CommandLine.arguments.dropFirst()))
await OccupantCommand.run(arguments: Array(CommandLine.arguments.dropFirst()))
