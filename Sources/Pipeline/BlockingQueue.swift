#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A bounded FIFO between threads whose overflow policy is to block: a
/// producer that outruns its consumer waits, nothing is dropped (the backfill
/// reader's policy in STYLE's terms).
///
/// `@unchecked Sendable`: all state is guarded by the pthread mutex.
final class BlockingQueue<Element>: @unchecked Sendable {
    private var items: [Element?]
    private var head = 0
    private var count = 0
    private var mutex = pthread_mutex_t()
    private var notEmpty = pthread_cond_t()
    private var notFull = pthread_cond_t()

    let capacity: Int

    init(capacity: Int) {
        precondition(capacity >= 1)
        self.capacity = capacity
        items = Array(repeating: nil, count: capacity)
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&notEmpty, nil)
        pthread_cond_init(&notFull, nil)
    }

    deinit {
        pthread_mutex_destroy(&mutex)
        pthread_cond_destroy(&notEmpty)
        pthread_cond_destroy(&notFull)
    }

    /// Appends, waiting while the queue is full.
    func push(_ element: Element) {
        pthread_mutex_lock(&mutex)
        while count == capacity { pthread_cond_wait(&notFull, &mutex) }
        items[(head + count) % capacity] = element
        count += 1
        pthread_cond_signal(&notEmpty)
        pthread_mutex_unlock(&mutex)
    }

    /// Removes the oldest, waiting while the queue is empty.
    func pop() -> Element {
        pthread_mutex_lock(&mutex)
        while count == 0 { pthread_cond_wait(&notEmpty, &mutex) }
        let element = items[head].take()!
        head = (head + 1) % capacity
        count -= 1
        pthread_cond_signal(&notFull)
        pthread_mutex_unlock(&mutex)
        return element
    }

    /// Removes the oldest if there is one, without waiting.
    func tryPop() -> Element? {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        guard count > 0 else { return nil }
        let element = items[head].take()
        head = (head + 1) % capacity
        count -= 1
        pthread_cond_signal(&notFull)
        return element
    }
}
