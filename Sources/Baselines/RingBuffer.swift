/// A ring of at most `capacity` elements that never grows: once full, each
/// push overwrites the oldest element and hands it back.
///
/// Storage is allocated once, in the initializer. All wrap-around arithmetic
/// lives in `slot(_:)`, so the rest reads as plain indexing.
public struct RingBuffer<Element>: ~Copyable {
    @usableFromInline let storage: UnsafeMutablePointer<Element>
    public let capacity: Int
    /// Physical slot of the oldest element.
    @usableFromInline var head = 0
    @usableFromInline var _count = 0
    @inlinable public var count: Int { _count }

    public init(capacity: Int) {
        precondition(capacity >= 0, "a ring's capacity cannot be negative")
        self.capacity = capacity
        storage = .allocate(capacity: Swift.max(capacity, 1))
    }

    deinit {
        storage.deinitialize(count: 0)
        for i in 0..<count { (storage + slot(i)).deinitialize(count: 1) }
        storage.deallocate()
    }

    @inlinable public var isEmpty: Bool { count == 0 }
    @inlinable public var isFull: Bool { count == capacity }

    /// The physical slot of logical index `i` (0 = oldest).
    @inlinable
    func slot(_ i: Int) -> Int {
        let s = head + i
        return s >= capacity ? s - capacity : s
    }

    /// Appends `element`; when full, the oldest element is removed and returned.
    /// With capacity 0 the element itself comes straight back.
    @inlinable
    @discardableResult
    public mutating func push(_ element: consuming Element) -> Element? {
        if capacity == 0 { return element }
        if count < capacity {
            (storage + slot(count)).initialize(to: element)
            _count += 1
            checkInvariants()
            return nil
        }
        let old = (storage + head).move()
        (storage + head).initialize(to: element)
        head = slot(1)
        checkInvariants()
        return old
    }

    /// Removes and returns the oldest element.
    @inlinable
    public mutating func popFirst() -> Element? {
        guard count > 0 else { return nil }
        let old = (storage + head).move()
        head = slot(1)
        _count -= 1
        if count == 0 { head = 0 }
        checkInvariants()
        return old
    }

    /// Logical indexing: 0 is the oldest element, `count - 1` the newest.
    @inlinable
    public subscript(i: Int) -> Element {
        get {
            precondition(i >= 0 && i < count, "ring index out of range")
            return storage[slot(i)]
        }
        set {
            precondition(i >= 0 && i < count, "ring index out of range")
            storage[slot(i)] = newValue
        }
    }

    @inlinable public var first: Element? { count > 0 ? storage[head] : nil }
    @inlinable public var last: Element? { count > 0 ? storage[slot(count - 1)] : nil }

    public mutating func removeAll() {
        while popFirst() != nil {}
    }

    /// The elements oldest first (allocates; for tests and snapshots, not the hot path).
    public var elements: [Element] { (0..<count).map { self[$0] } }

    @inlinable
    func checkInvariants() {
        #if CHUNKWATCH_INTERNAL_CHECKS
        precondition(count >= 0 && count <= capacity)
        precondition(head >= 0 && head < Swift.max(capacity, 1))
        #endif
    }
}

extension RingBuffer {
    /// A ring positioned so that its next push lands at physical slot `startSlot`,
    /// so tests can exercise every wrap position (as swift-collections' Deque tests do).
    package init(capacity: Int, startSlot: Int) {
        self.init(capacity: capacity)
        precondition(startSlot >= 0 && startSlot < Swift.max(capacity, 1))
        head = startSlot
    }
}
