import Evaluator
import OccupantCore

/// The attributes of the Home Assistant occupancy entity, retained on `occupant/<id>/occupancy/attributes`.
///
/// A stable schema (`schema: 1`; members are only ever added): every member is always present, null when unknown.
/// ```
/// {"schema":1,"modelId":"occupancy-office@3","decidedBy":"model:occupancy-office@3","probability":0.93,
///  "why":[{"feature":"sound_mean_5m","value":41.5,"contribution":1.82},…],
///  "override":"auto","overrideUntil":null,"occupiedSince":"…","occupiedTooLong":false,"warning":null,
///  "estimatedAccuracy":0.94,"drift":"stable","driftedFeatures":[],"at":"…"}
/// ```
/// `why` names the (at most) three inputs that moved this decision's log-odds most, largest first: per-tree path
/// contributions for a tree ensemble, coefficient × value for a logistic regression (see `Contributions`); the static
/// rule lists its one input with a null contribution. `modelId` is `<id>@<version>`, or the rule's `rule:…`.
struct OccupancyAttributes {
    static let schema = 1
    static let whyCount = 3

    let json: JSON

    init(
        decision: Decision, scorer: any OccupancyScorer, override: Override, history: OccupancyHistory,
        monitor: MonitorDocument?
    ) {
        let modelID: String
        var why: [JSON] = []
        if let model = scorer as? ModelScorer {
            let manifest = model.bundle.manifest
            modelID = "\(manifest.modelID)@\(manifest.version)"
            if let values = decision.inputs.featureValues, decision.probability != nil {
                let names = manifest.features.names
                let contributions = model.bundle.model.contributions(values)
                why = contributions.top(Self.whyCount).map { i in
                    .object([
                        "feature": .string(names[i]), "value": .finite(values[i]),
                        "contribution": .finite(contributions.values[i]),
                    ])
                }
            }
        } else {
            modelID = scorer.id
            why = decision.inputs.prefix(Self.whyCount).map { input in
                .object(["feature": .string(input.key), "value": input.value.json, "contribution": .null])
            }
        }
        let drifted = monitor?.drift?.filter(\.value.drifted).keys.sorted() ?? []
        let drift: String =
            if monitor?.drift == nil { "unknown" } else if drifted.isEmpty { "stable" } else { "drifted" }
        json = .object([
            .init("schema", .number(Double(Self.schema))),
            .init("modelId", .string(modelID)),
            .init("decidedBy", .string(decision.decidedBy)),
            .init("probability", .finite(decision.probability)),
            .init("why", .array(why)),
            .init("override", .string(override.mode.rawValue)),
            .init("overrideUntil", override.until.map { .string($0.iso8601) } ?? .null),
            .init("occupiedSince", history.occupiedSince.map { .string($0.iso8601) } ?? .null),
            .init("occupiedTooLong", .bool(history.alert != nil)),
            .init("warning", history.alert.map { .string($0) } ?? .null),
            .init("estimatedAccuracy", .finite(monitor?.expectedAccuracy)),
            .init("drift", .string(drift)),
            .init("driftedFeatures", .array(drifted.map { .string($0) })),
            .init("at", .string(decision.at.iso8601)),
        ])
    }
}
