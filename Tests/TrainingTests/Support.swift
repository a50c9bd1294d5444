import Foundation
import OccupantTesting

/// The UCI Occupancy Detection files: `shared/` beside the package root (the CI layout).
func ucidir() -> URL {
    packageRoot().deletingLastPathComponent().appendingPathComponent("shared/data/uci-occupancy-detection")
}
