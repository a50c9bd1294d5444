import Foundation
import OccupantCore
import OccupantTesting
import Synchronization
import Testing

@testable import Training

/// Every snapshot a run reported, in order.
private final class Recorder: Sendable {
    let snapshots = Mutex<[TrainingProgress.Snapshot]>([])
    func record(_ s: TrainingProgress.Snapshot) { snapshots.withLock { $0.append(s) } }
}

@Test(.ownThread) func progressCountsTrialsAndEndsAtExactlyTheWorkPlanned() throws {
    let table = thermostatTable(days: 3, seed: 4)
    let recorder = Recorder()
    let progress = TrainingProgress(report: recorder.record)
    _ = try Trainer.train(table, options: .init(trials: 12, seed: 8, ablation: true, workers: 2), progress: progress)
    let seen = recorder.snapshots.withLock { $0 }
    let last = try #require(seen.last)
    // Trials, not rungs: 12 trials are 12, however many rungs they went through.
    #expect(last.trials == 12 && last.trialsScored == 12)
    #expect(seen.allSatisfy { $0.trialsScored <= 12 })
    // The plan (ablation and final fit included) is the work done: the bar reaches 100 % at the end, not before.
    #expect(last.fitsDone == last.fitsPlanned && last.fraction == 1)
    let beforeEnd = seen.filter { $0.stage != .finalFit }
    #expect(beforeEnd.allSatisfy { $0.fraction < 1 }, "100 % before the final fit")
    // Stages in order: the search's rungs, the ablation, the final fit; the fraction never goes back.
    let order = seen.map { s -> Int in
        switch s.stage {
        case .search(let rung, _, _): rung
        case .ablation: 100
        case .finalFit: 101
        }
    }
    #expect(order == order.sorted())
    #expect(order.contains(100) && order.contains(101))
    #expect(zip(seen, seen.dropFirst()).allSatisfy { $0.fraction <= $1.fraction })
    // A best score shows from the first scored trial on, with the folds it was measured on.
    let firstScored = try #require(seen.firstIndex { $0.trialsScored > 0 })
    #expect(seen[firstScored...].allSatisfy { $0.bestAccuracy != nil && $0.bestFolds >= 1 })
    #expect(seen.contains { $0.remainingSeconds != nil })
}

@Test(.ownThread) func cancellingStopsTrainingAtTheNextFit() throws {
    let table = thermostatTable(days: 3, seed: 4)
    let holder = Mutex<TrainingProgress?>(nil)
    let progress = TrainingProgress(report: { snapshot in
        if snapshot.fitsDone >= 3 { holder.withLock { $0?.cancel() } }
    })
    holder.withLock { $0 = progress }
    #expect(throws: OccupantError(.usage, "training cancelled")) {
        try Trainer.train(table, options: .init(trials: 40, seed: 8, ablation: true, workers: 2), progress: progress)
    }
    // Fits already running finish (one per worker); none starts after the cancel.
    #expect(progress.snapshot.fitsDone <= 3 + 2)
    #expect(progress.snapshot.fitsDone < progress.snapshot.fitsPlanned / 4)
}
