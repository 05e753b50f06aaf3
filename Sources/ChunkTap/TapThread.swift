#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A plain POSIX thread: the forwarder blocks in socket calls and sleeps, so it
/// must not run on Swift's shared concurrency pool, and ChunkTap links no Foundation.
final class TapThread: @unchecked Sendable {
    // @unchecked: `handle` is written once in init, before any other thread sees this object.
    private var handle: pthread_t?

    private final class Body {
        let work: () -> Void
        init(_ work: @escaping () -> Void) { self.work = work }
    }

    init(_ work: @escaping @Sendable () -> Void) {
        let body = Unmanaged.passRetained(Body(work)).toOpaque()
        #if canImport(Glibc)
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue().work()
            return nil
        }, body)
        if rc == 0 { handle = thread }
        #else
        var thread: pthread_t?
        let rc = pthread_create(&thread, nil, { raw in
            Unmanaged<Body>.fromOpaque(raw).takeRetainedValue().work()
            return nil
        }, body)
        if rc == 0 { handle = thread }
        #endif
        precondition(rc == 0, "ChunkTap cannot start its forwarder thread: pthread_create returned \(rc)")
    }

    func join() {
        guard let handle else { return }
        pthread_join(handle, nil)
    }
}
