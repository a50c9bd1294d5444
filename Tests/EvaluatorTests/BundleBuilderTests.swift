import Evaluator
import Features
import OccupantCore
import Testing

@Suite("Building a bundle from an imported model")
struct BundleBuilderTests {
    @Test(arguments: [
        ("fleet", BundleManifest.Scope.fleet),
        ("site:hq", BundleManifest.Scope(kind: .site, id: "hq")),
        ("room:2.14", BundleManifest.Scope(kind: .room, id: "2.14")),
        ("gateway:a:b", BundleManifest.Scope(kind: .gateway, id: "a:b")),
    ])
    func scopesParse(text: String, scope: BundleManifest.Scope) throws {
        #expect(try BundleBuilder.scope(text) == scope)
    }

    @Test(arguments: ["", "room", "room:", "floor:3", "fleet:x"])
    func badScopesAreUsageErrors(text: String) {
        #expect(throws: OccupantError.self) { try BundleBuilder.scope(text) }
        do { _ = try BundleBuilder.scope(text) } catch { #expect(error.code == .usage) }
    }

    @Test func rawColumnsMakeASchemaInOrder() throws {
        let schema = try BundleBuilder.schema(
            " co2, temperature ,,sound",
            loadFile: { _ throws(OccupantError) in
                Issue.record("a column list is not a file")
                return .raw(columns: [])
            })
        #expect(schema.names == ["co2", "temperature", "sound"])
        #expect(throws: OccupantError.self) {
            try BundleBuilder.schema(" , ", loadFile: { _ throws(OccupantError) in .raw(columns: []) })
        }
    }

    @Test func syntheticRowsAreDeterministicAndSpanTheSplits() throws {
        let imported = try Fixtures.importModel("xgb-d4-50-missing")
        let rows = BundleBuilder.syntheticRows(imported.model)
        #expect(rows.count == BundleBuilder.goldenCount)
        #expect(rows.allSatisfy { $0.count == imported.model.featureCount })
        #expect(rows.flatMap { $0 }.contains { $0.isNaN }, "trees get some missing values")
        let again = BundleBuilder.syntheticRows(imported.model)
        #expect(zip(rows, again).allSatisfy { a, b in zip(a, b).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) } })
        // The golden vectors made from them reproduce.
        let golden = GoldenVectors.make(model: imported.model, rows: rows)
        #expect(golden.count == rows.count)
    }

    @Test func logisticRowsHaveNoMissingValues() throws {
        let imported = try Fixtures.importModel("logreg-6")
        #expect(!BundleBuilder.syntheticRows(imported.model, count: 16).flatMap { $0 }.contains { $0.isNaN })
    }

    @Test func goldenRowsNeedEveryColumnAndEnoughRows() throws {
        let schema = FeatureSchema.raw(columns: ["b", "a"])
        let table = FeatureTable(columns: ["a", "b", "c"], rows: (0..<40).map { [Double($0), -Double($0), 0] })
        let rows = try BundleBuilder.goldenRows(from: table, schema: schema, name: "in.csv")
        #expect(rows.count == 40)
        #expect(rows[3] == [-3, 3])
        let short = FeatureTable(columns: ["a", "b"], rows: [[1, 2]])
        #expect(throws: OccupantError.self) {
            try BundleBuilder.goldenRows(from: short, schema: schema, name: "in.csv")
        }
        let missing = FeatureTable(columns: ["a"], rows: table.rows.map { [$0[0]] })
        #expect(throws: OccupantError.self) {
            try BundleBuilder.goldenRows(from: missing, schema: schema, name: "in.csv")
        }
    }
}
