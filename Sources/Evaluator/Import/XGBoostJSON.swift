// The parts of XGBoost's JSON model that the importer reads. Keys are XGBoost's own (snake_case), so a decoding
// error's path names the key as it appears in the file.

/// A number XGBoost may write either as a JSON string (`"6"`) or as a JSON number.
struct XGBNumber: Decodable {
    var value: Double
    var text: String

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            guard let value = Double(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "\"\(text)\" is not a number")
            }
            self.value = value
            self.text = text
        } else {
            value = try container.decode(Double.self)
            text = "\(value)"
        }
    }
}

/// `default_left`: integers 0/1 in current files, booleans in some older ones.
struct XGBFlags: Decodable {
    var values: [Bool]

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let ints = try? container.decode([Int].self) {
            values = ints.map { $0 != 0 }
        } else {
            values = try container.decode([Bool].self)
        }
    }
}

/// What is checked before the trees are read: booster, objective, parameters.
struct XGBHeader: Decodable {
    struct Learner: Decodable {
        var objective: Named
        var booster: Named
        var modelParam: ModelParam
        var featureNames: [String]?

        enum CodingKeys: String, CodingKey {
            case objective
            case booster = "gradient_booster"
            case modelParam = "learner_model_param"
            case featureNames = "feature_names"
        }
    }

    struct Named: Decodable { var name: String }

    struct ModelParam: Decodable {
        var baseScore: XGBNumberText
        var numClass: XGBNumber
        var numFeature: XGBNumber
        var numTarget: XGBNumber?

        enum CodingKeys: String, CodingKey {
            case baseScore = "base_score"
            case numClass = "num_class"
            case numFeature = "num_feature"
            case numTarget = "num_target"
        }
    }

    var learner: Learner
    var version: [Int]?
}

/// `base_score` kept as text, since it may be bracketed (`"[5E-1]"`).
struct XGBNumberText: Decodable {
    var text: String

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            self.text = text
        } else {
            text = "\(try container.decode(Double.self))"
        }
    }
}

/// The trees.
struct XGBBody: Decodable {
    struct Learner: Decodable {
        var booster: Booster
        enum CodingKeys: String, CodingKey { case booster = "gradient_booster" }
    }

    struct Booster: Decodable { var model: Model }

    struct Model: Decodable {
        var trees: [XGBTree]
        var treeInfo: [Int]?
        enum CodingKeys: String, CodingKey {
            case trees
            case treeInfo = "tree_info"
        }
    }

    var learner: Learner
}

struct XGBTree: Decodable {
    struct Param: Decodable {
        var numNodes: XGBNumber
        var sizeLeafVector: XGBNumber?
        enum CodingKeys: String, CodingKey {
            case numNodes = "num_nodes"
            case sizeLeafVector = "size_leaf_vector"
        }
    }

    var leftChildren: [Int]
    var rightChildren: [Int]
    var splitIndices: [Int]
    var splitConditions: [Float]
    var defaultLeft: XGBFlags
    var splitType: [Int]?
    var treeParam: Param?

    enum CodingKeys: String, CodingKey {
        case leftChildren = "left_children"
        case rightChildren = "right_children"
        case splitIndices = "split_indices"
        case splitConditions = "split_conditions"
        case defaultLeft = "default_left"
        case splitType = "split_type"
        case treeParam = "tree_param"
    }
}
