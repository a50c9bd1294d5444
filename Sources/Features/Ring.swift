/// An array-backed first-in first-out ring that can also pop from the back (a deque), growing by doubling up to a
/// fixed limit and never shrinking, so a pipeline stops allocating once its windows have filled.
///
/// The caller keeps `count < limit` before `pushBack` (a window evicts its oldest sample first); pushing into a full
/// ring is a programming error.
struct Ring<Element: Sendable>: Sendable {
    private var storage: [Element]
    private var head = 0
    private(set) var count = 0
    /// The most elements the ring will ever hold.
    let limit: Int
    /// Fills unused storage slots; never observable.
    private let filler: Element

    init(limit: Int, filler: Element) {
        precondition(limit > 0, "ring limit must be positive")
        self.limit = limit
        self.filler = filler
        self.storage = []
    }

    var isEmpty: Bool { count == 0 }

    /// Slots currently allocated (for memory accounting and tests).
    var storageCapacity: Int { storage.count }

    @inline(__always)
    private func slot(_ index: Int) -> Int {
        let i = head + index
        return i >= storage.count ? i - storage.count : i
    }

    /// The element `index` places from the front (0 = oldest).
    subscript(index: Int) -> Element {
        precondition(index >= 0 && index < count, "ring index out of range")
        return storage[slot(index)]
    }

    var first: Element? { count == 0 ? nil : storage[head] }
    var last: Element? { count == 0 ? nil : storage[slot(count - 1)] }

    mutating func pushBack(_ element: Element) {
        precondition(count < limit, "ring is full; evict before pushing")
        if count == storage.count { grow() }
        storage[slot(count)] = element
        count += 1
    }

    @discardableResult
    mutating func popFront() -> Element {
        precondition(count > 0, "popFront on an empty ring")
        let element = storage[head]
        head += 1
        if head == storage.count { head = 0 }
        count -= 1
        return element
    }

    mutating func popBack() {
        precondition(count > 0, "popBack on an empty ring")
        count -= 1
    }

    /// Empties the ring, keeping its storage.
    mutating func removeAll() {
        head = 0
        count = 0
    }

    private mutating func grow() {
        let newSize = Swift.min(limit, Swift.max(16, storage.count * 2))
        var grown: [Element] = []
        grown.reserveCapacity(newSize)
        for i in 0..<count { grown.append(storage[slot(i)]) }
        while grown.count < newSize { grown.append(filler) }
        storage = grown
        head = 0
    }
}
