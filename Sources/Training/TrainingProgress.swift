import Foundation
import OccupantCore
import Synchronization

/// Where a training run is (for a progress display) and a way to stop it early (a server shutting down).
///
/// Work is counted in fold fits: every trial is fitted on one fold first; the best third go on to three folds, the
/// best third of those to every fold; the ablation fits each variant on every fold; the final report refits the chosen
/// configuration on every fold and once on all rows. The plan is known up front except the ablation's variant count,
/// which is estimated from the feature groups and corrected when the search has chosen.
public final class TrainingProgress: Sendable {
    public struct Snapshot: Sendable, Equatable {
        public enum Stage: Sendable, Equatable {
            /// Successive-halving rung `rung` of `rungs`, fitting each contender on `folds` folds.
            case search(rung: Int, rungs: Int, folds: Int)
            case ablation
            case finalFit
        }

        public var stage: Stage
        /// Trials scored at least once (every trial is scored on the first fold before any is dropped).
        public var trialsScored: Int
        public var trials: Int
        public var fitsDone: Int
        public var fitsPlanned: Int
        /// Best cross-validated accuracy among the trials scored so far, and on how many folds it was measured.
        public var bestAccuracy: Double?
        public var bestFolds: Int
        public var elapsedSeconds: Double

        public var fraction: Double { fitsPlanned == 0 ? 0 : min(1, Double(fitsDone) / Double(fitsPlanned)) }

        /// Seconds left at the pace so far (nil before the first fit finishes).
        public var remainingSeconds: Double? {
            guard fitsDone > 0 else { return nil }
            return elapsedSeconds * Double(max(0, fitsPlanned - fitsDone)) / Double(fitsDone)
        }
    }

    private struct State {
        var snapshot = Snapshot(
            stage: .search(rung: 1, rungs: 1, folds: 1), trialsScored: 0, trials: 0, fitsDone: 0, fitsPlanned: 0,
            bestAccuracy: nil, bestFolds: 0, elapsedSeconds: 0)
        var cancelled = false
    }

    private let state = Mutex(State())
    private let report: (@Sendable (Snapshot) -> Void)?
    private let start = ContinuousClock.now

    public init(report: (@Sendable (Snapshot) -> Void)? = nil) {
        self.report = report
    }

    /// Asks the run to stop: fits already running finish, no new fit starts, and `Trainer.train` throws.
    public func cancel() { state.withLock { $0.cancelled = true } }

    public var isCancelled: Bool { state.withLock { $0.cancelled } }

    public var snapshot: Snapshot { state.withLock { $0.snapshot } }

    /// Throws when the run was cancelled (between stages and before each fit).
    func checkCancelled() throws(OccupantError) {
        if isCancelled { throw OccupantError(.usage, "training cancelled") }
    }

    /// The search's trials and fits, added to what is already planned (the later stages plan first).
    func plan(trials: Int, fits: Int) {
        update { s in
            s.trials = trials
            s.fitsPlanned += fits
        }
    }

    func replan(addingFits delta: Int) { update { $0.fitsPlanned += delta } }

    func enter(_ stage: Snapshot.Stage) { update { $0.stage = stage } }

    /// One fold fit finished.
    func fitted() { update { $0.fitsDone += 1 } }

    /// A trial finished a rung: its accuracy on `folds` folds. Scores on more folds replace scores on fewer (they are
    /// the better estimate), so the best so far can go down as the search narrows.
    func scored(accuracy: Double, folds: Int, firstRung: Bool) {
        update { s in
            if firstRung { s.trialsScored += 1 }
            guard !accuracy.isNaN else { return }
            if folds > s.bestFolds {
                s.bestFolds = folds
                s.bestAccuracy = accuracy
            } else if folds == s.bestFolds {
                s.bestAccuracy = max(s.bestAccuracy ?? 0, accuracy)
            }
        }
    }

    private func update(_ body: (inout Snapshot) -> Void) {
        let snapshot = state.withLock { s -> Snapshot in
            body(&s.snapshot)
            s.snapshot.elapsedSeconds = Self.seconds(ContinuousClock.now - start)
            return s.snapshot
        }
        report?(snapshot)
    }

    private static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}
