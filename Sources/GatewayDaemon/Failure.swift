import ArgumentParser
import OccupantCore

#if canImport(Glibc)
    import Glibc
#endif

/// Exit statuses every command uses: 0 success, 1 a failure at run time, 2 a bad argument, configuration or profile,
/// 3 a model that does not beat the baseline (train, evaluate) or no promoted model (server retrain); `model` refusals
/// use 10–24.
public enum ExitStatus {
    public static let failure: Int32 = 1
    /// A bad configuration, profile or argument.
    public static let configuration: Int32 = 2
    /// The model does not beat the baseline, or no model was promoted.
    public static let noBetterModel: Int32 = 3
}

/// Prints `error` as one line per problem on stderr and returns the exit code for it.
public func report(_ error: any Error) -> ExitCode {
    switch error {
    case let e as DocumentErrors:
        printError(e.description)
        return ExitCode(ExitStatus.configuration)
    case let e as OccupantError:
        printError("error: \(e)")
        switch e.code {
        case .configuration, .profile, .usage: return ExitCode(ExitStatus.configuration)
        default: return ExitCode(ExitStatus.failure)
        }
    case let e as ExitCode:
        return e
    default:
        printError("error: \(error)")
        return ExitCode(ExitStatus.failure)
    }
}

public func printError(_ text: String) {
    var line = text
    if !line.hasSuffix("\n") { line += "\n" }
    _ = line.withCString { write(2, $0, strlen($0)) }
}
