/// A page's view as dictionaries and arrays, reflected once. Mustache looks a name up by reflecting the object each
/// time (a `Mirror` per lookup and per level of the context stack it walks up), which made a table of a few hundred
/// rows cost hundreds of milliseconds; a dictionary is a hash lookup. Nil members are left out (a lookup then goes
/// on up the stack, as it does for a nil member).
enum DashboardBox {
    static func box(_ value: Any) -> Any? {
        let mirror = Mirror(reflecting: value)
        switch mirror.displayStyle {
        case .optional:
            return mirror.children.first.flatMap { box($0.value) }
        case .struct, .class:
            var fields: [String: Any] = [:]
            fields.reserveCapacity(Int(mirror.children.count))
            for child in mirror.children {
                if let label = child.label, let boxed = box(child.value) { fields[label] = boxed }
            }
            return fields
        case .collection, .set:
            return mirror.children.compactMap { box($0.value) }
        default:
            return value
        }
    }
}
