import Foundation
import OccupantCore
import Testing

@testable import Training

@Test func readsTheUCIQuirkAndNDJSON() throws {
    let csv = """
        "date","Temperature","Occupancy"
        "1","2015-02-04 17:51:00",23.18,1
        "2","2015-02-04 17:52:00",23.15,0
        """
    let t = try TableReader.parse(csv, columns: .init(time: "date", label: "Occupancy"))
    #expect(t.channels == ["Temperature"])
    #expect(t.labels == [1, 0])
    #expect(t.times[1] - t.times[0] == 60)
    let ndjson = """
        {"ts": 1000, "sound": 12, "hvac": "HEATING", "occupied": true}
        {"ts": 1001, "sound": 3, "hvac": "STANDBY", "occupied": 0}
        {"ts": 1002, "sound": 4, "hvac": "STANDBY", "occupied": null}
        """
    let n = try TableReader.parse(ndjson, columns: .init(time: "ts", label: "occupied"))
    #expect(Set(n.channels) == ["sound", "hvac"])
    #expect(n.categoricalChannels == ["hvac"])
    #expect(n.labels == [1, 0, nil])
}

private func table(rows: Int, occupied: (Int) -> UInt8) -> LabelledTable {
    LabelledTable(
        channels: ["sound"], times: (0..<rows).map { Instant(seconds: Double($0 * 600)) },
        labels: (0..<rows).map(occupied), values: (0..<rows).map { [.number(Double($0 % 7))] })
}

@Test func refusesTooFewRows() {
    #expect {
        try Trainer.checkTrainable(table(rows: 499) { UInt8($0 % 2) })
    } throws: { error in
        (error as? OccupantError)?.message == "499 labelled rows; training needs at least 500 (add 1 more)"
    }
}

@Test func refusesASingleClass() {
    #expect {
        try Trainer.checkTrainable(table(rows: 600) { _ in 0 })
    } throws: { error in
        (error as? OccupantError)?.message == "all 600 labelled rows are vacant; training needs occupied rows too"
    }
}
