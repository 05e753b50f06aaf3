import ChunkModel

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The forwarder thread's loop: take a batch from the ring, format it, send it
/// to the collector; reconnect with bounded exponential backoff when the
/// collector is away. While it is away the batch waits here and the ring fills;
/// once full, `record` drops and counts (the ring is the only buffer that grows
/// with an outage, and it does not grow).
///
/// Delivery: a batch is kept until the socket took all of it. When a write
/// fails part-way, the lines the socket had fully taken count as sent, and the
/// rest (from the interrupted line on) goes again on the next connection.
final class TapForwarder: @unchecked Sendable {
    // @unchecked: all mutable state below is touched only by the forwarder thread.
    private let tap: ChunkTap
    private let writer: TapLineWriter
    private var pending = OutputBuffer(capacity: 256 * 1024)
    private var pendingEvents = 0
    private var connection: CollectorConnection?
    private var backoff: Int64
    private var nextAttempt: Int64 = 0
    private var names: [TapRegistry.Names] = []
    private var reportedDrops: [Int] = []
    private var lastReport: Timestamp = .now()
    private var nextReport: Int64
    private var nextIdleCheck: Int64 = 0
    /// Binary: how many sources' names the current connection has had.
    private var sourcesSent = 0
    /// Binary: batches sent and not yet acknowledged as durable, to send again after a reconnect.
    private var resend: TapResendBuffer
    /// Binary: this tap's number for the collector's duplicate check, new at every start.
    private let instance = UInt64.random(in: 1...UInt64.max)
    /// Binary: the number of the next item (event record or report), and the pending batch's first and count.
    private var nextSequence: UInt64 = 0
    private var pendingFirst: UInt64 = 0
    private var pendingItems = 0
    private var acks = TapAckReader()
    private var binary: Bool { tap.settings.wire == .binary }

    init(tap: ChunkTap) {
        self.tap = tap
        writer = TapLineWriter(connPrefix: tap.settings.connPrefix)
        backoff = tap.settings.backoffInitial.nanosecondsClamped
        resend = TapResendBuffer(capacityItems: tap.settings.maxUnacknowledged)
        nextReport = Self.monotonic() + tap.settings.dropReportInterval.nanosecondsClamped
    }

    func run() {
        var deadline = Int64.max
        while true {
            let stopping = tap.stopRequested.load(ordering: .acquiring)
            if stopping && deadline == .max { deadline = Self.monotonic() + tap.settings.closeTimeout.nanosecondsClamped }
            if pending.isEmpty { fill(final: stopping) }
            if pending.isEmpty && !resend.isEmpty {
                // Binary: nothing new to send (or no room until acknowledgements
                // come); wait for them, reconnecting and resending when needed.
                if Self.monotonic() > deadline { break }
                awaitAcknowledgements()
                continue
            }
            if pending.isEmpty {
                if stopping { break }
                noticeClosedWhileIdle()
                Self.sleep(tap.settings.idleWait.nanosecondsClamped)
                continue
            }
            if Self.monotonic() > deadline { break }
            if !ensureConnection() {
                Self.sleep(min(max(nextAttempt - Self.monotonic(), 0), 20_000_000) + 1_000_000)
                continue
            }
            send()
        }
        let left = tap.ring.count + pendingEvents
        let unacknowledged = resend.events
        tap.counters.withLock {
            $0.droppedAtClose = left
            $0.unacknowledgedAtClose = unacknowledged
        }
        connection?.close()
        connection = nil
    }

    /// Moves up to a batch from the ring into `pending`, plus a drop report when one is due.
    private func fill(final: Bool) {
        var taken = 0
        // Binary: no new batch while the resend buffer is full (the ring takes the strain, and drops).
        if binary && resend.isFull { return }
        if binary { TapWire.appendHeader(.events, length: 0, to: &pending.bytes) }  // length set below
        while taken < tap.settings.batchSize, let record = tap.ring.pop() {
            let index = Int(record.source.index)
            if index >= names.count { names = tap.registry.snapshot() }
            if index < names.count {
                if binary {
                    TapWire.appendRecord(
                        ts: record.ts.nanoseconds, source: record.source.index, dir: record.dir.rawValue, conn: record.conn,
                        seq: record.seq, size: record.size, checksum: record.checksum, rate: record.rate, to: &pending.bytes)
                } else {
                    writer.write(record, names: names[index], to: &pending)
                }
                taken += 1
            }
        }
        if binary {
            if taken == 0 {
                pending.removeAll()
            } else {
                Self.setFrameLength(&pending.bytes, at: 0, length: taken * TapWire.recordSize)
            }
        }
        pendingEvents = taken
        let now = Self.monotonic()
        var reports = 0
        if final || now >= nextReport {
            nextReport = now + tap.settings.dropReportInterval.nanosecondsClamped
            if appendDropReport() { reports = 1 }
        }
        if binary {
            pendingItems = taken + reports
            pendingFirst = nextSequence
            nextSequence &+= UInt64(pendingItems)
        }
    }

    /// Drops since the last report, per principal; nothing when there are none,
    /// so a healthy tap sends only chunk events.
    @discardableResult
    private func appendDropReport() -> Bool {
        if names.count < tap.registry.snapshot().count { names = tap.registry.snapshot() }
        if reportedDrops.count < names.count { reportedDrops += Array(repeating: 0, count: names.count - reportedDrops.count) }
        var byPrincipal: [(String, Int)] = []
        var total = 0
        for i in names.indices {
            let now = tap.registry.drops(of: i)
            let delta = now - reportedDrops[i]
            reportedDrops[i] = now
            guard delta > 0 else { continue }
            total += delta
            if let j = byPrincipal.firstIndex(where: { $0.0 == names[i].principal }) {
                byPrincipal[j].1 += delta
            } else {
                byPrincipal.append((names[i].principal, delta))
            }
        }
        guard total > 0 else { return false }
        let now = Timestamp.now()
        if tap.settings.wire == .binary {
            var line = OutputBuffer(capacity: 256)
            TapLineWriter.writeDropReport(
                tap: tap.settings.name, now: now, since: lastReport, dropped: total, byPrincipal: byPrincipal, to: &line)
            TapWire.appendHeader(.report, length: line.count, to: &pending.bytes)
            pending.append(contentsOf: line.bytes)
        } else {
            TapLineWriter.writeDropReport(
                tap: tap.settings.name, now: now, since: lastReport, dropped: total, byPrincipal: byPrincipal, to: &pending)
        }
        lastReport = now
        tap.counters.withLock { $0.dropReports += 1 }
        return true
    }

    /// While there is nothing to send, looks now and then (not every idle
    /// round: it is a system call) whether the collector went away, so the
    /// stats say so and the next batch goes to a fresh connection.
    private func noticeClosedWhileIdle() {
        let now = Self.monotonic()
        guard connection != nil, now >= nextIdleCheck else { return }
        nextIdleCheck = now + 50_000_000
        _ = connectionIsOpen()
    }

    /// Whether the current connection is still usable; closes it if the collector closed its side.
    private func connectionIsOpen() -> Bool {
        guard let c = connection else { return false }
        if binary { return readAcknowledgements(c) }
        let (closed, message) = c.peerClosed()
        if !closed { return true }
        c.close()
        connection = nil
        tap.counters.withLock {
            $0.lastError = "collector closed the connection"
            if let message { $0.collectorMessage = String(message.prefix { $0 != "\n" }) }
        }
        return false
    }

    private func ensureConnection() -> Bool {
        if connectionIsOpen() { return true }
        let now = Self.monotonic()
        guard now >= nextAttempt else { return false }
        let timeout = Int32(clamping: tap.settings.connectTimeout.nanosecondsClamped / 1_000_000)
        let (c, error) = CollectorConnection.connect(to: tap.settings.collector, timeoutMilliseconds: timeout)
        guard let c else {
            tap.counters.withLock {
                $0.connectFailures += 1
                $0.lastError = error
            }
            nextAttempt = now + backoff
            backoff = min(backoff * 2, tap.settings.backoffMax.nanosecondsClamped)
            return false
        }
        if let token = tap.settings.token {
            let hello = Array("AUTH \(token)\n".utf8)
            guard c.send(hello, from: 0) == hello.count else {
                c.close()
                nextAttempt = now + backoff
                return false
            }
        }
        if binary {
            // The magic, the tap's prefix and where its numbering resumes open
            // every binary connection; sources follow as they appear, and what
            // was not acknowledged on the last connection goes again.
            var hello = TapWire.magic
            TapWire.appendHello(connPrefix: tap.settings.connPrefix, to: &hello)
            let next = resend.firstUnacknowledged ?? (pending.isEmpty ? nextSequence : pendingFirst)
            TapWire.appendResume(name: tap.settings.name, instance: instance, next: next, to: &hello)
            guard c.send(hello, from: 0) == hello.count else {
                c.close()
                nextAttempt = now + backoff
                return false
            }
            sourcesSent = 0
            acks = TapAckReader()
            guard resendUnacknowledged(c) else {
                failed(c)
                nextAttempt = now + backoff
                return false
            }
        }
        connection = c
        backoff = tap.settings.backoffInitial.nanosecondsClamped
        tap.counters.withLock { $0.connects += 1 }
        return true
    }

    /// Sends the batch. Binary: the names of every source it may use go first
    /// (once per connection). When a write fails part-way, what the socket
    /// took counts as sent and the rest goes again on the next connection.
    private func send() {
        guard let c = connection else { return }
        if binary {
            sendBinary(c)
            return
        }
        let written = c.send(pending.bytes, from: 0)
        let complete = written == pending.count
        let sentEvents = complete ? pendingEvents : keepUnsentLines(written)
        pendingEvents -= sentEvents
        tap.counters.withLock { $0.sent += sentEvents }
        if complete {
            pending.removeAll()
        } else {
            failed(c)
        }
    }

    /// NDJSON: keeps the interrupted line and everything after it; returns the events sent.
    private func keepUnsentLines(_ written: Int) -> Int {
        var cut = written
        while cut > 0 && pending.bytes[cut - 1] != UInt8(ascii: "\n") { cut -= 1 }
        let done = pending.bytes[..<cut].reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
        pending.bytes.removeSubrange(..<cut)
        return min(done, pendingEvents)
    }

    // MARK: Binary: numbered items, acknowledgements, resends

    /// The names of every source not yet sent on this connection.
    private func sendSources(_ c: CollectorConnection) -> Bool {
        guard sourcesSent < names.count else { return true }
        var frames: [UInt8] = []
        for i in sourcesSent..<names.count {
            TapWire.appendSource(
                id: UInt32(i), principal: names[i].principal, resource: names[i].resource, hop: names[i].hop, to: &frames)
        }
        guard c.send(frames, from: 0) == frames.count else { return false }
        sourcesSent = names.count
        return true
    }

    /// Sends the pending batch and keeps it until it is acknowledged, however
    /// much of it the socket took: after a failure it goes again whole.
    private func sendBinary(_ c: CollectorConnection) {
        guard sendSources(c) else {
            failed(c)
            return
        }
        let complete = c.send(pending.bytes, from: 0) == pending.count
        resend.append(.init(first: pendingFirst, items: pendingItems, events: pendingEvents, bytes: pending.bytes, sent: complete))
        if complete { tap.counters.withLock { $0.sent += pendingEvents } }
        pending.removeAll()
        pendingEvents = 0
        pendingItems = 0
        if !complete { failed(c) }
    }

    /// On a new connection: every batch not yet acknowledged, in order.
    private func resendUnacknowledged(_ c: CollectorConnection) -> Bool {
        guard !resend.isEmpty else { return true }
        guard sendSources(c) else { return false }
        var firstTime = 0
        for i in resend.pendingIndices {
            let batch = resend.batches[i]
            guard c.send(batch.bytes, from: 0) == batch.bytes.count else { return false }
            if !batch.sent {
                resend.markSent(i)
                firstTime += batch.events
            }
        }
        let resent = resend.events
        tap.counters.withLock {
            $0.sent += firstTime
            $0.resent += resent
        }
        return true
    }

    /// Takes in the collector's acknowledgements without waiting; false (and
    /// the connection closed) when the collector closed it or wrote an `ERR`.
    private func readAcknowledgements(_ c: CollectorConnection) -> Bool {
        var open = true
        var message: String?
        while open {
            let (n, closed) = c.receive(into: &receiveBuffer)
            if n > 0 {
                let ok = receiveBuffer.withUnsafeBytes { acks.feed(UnsafeRawBufferPointer(rebasing: $0.prefix(n))) }
                if !ok {
                    message = acks.message
                    open = false
                }
            }
            if closed { open = false }
            if n < receiveBuffer.count { break }
        }
        if let next = acks.acknowledged {
            let acknowledged = resend.acknowledge(below: next)
            if acknowledged > 0 { tap.counters.withLock { $0.acknowledged += acknowledged } }
        }
        if open { return true }
        c.close()
        connection = nil
        tap.counters.withLock {
            $0.lastError = "collector closed the connection"
            if let message { $0.collectorMessage = String(message.prefix { $0 != "\n" }) }
        }
        return false
    }
    private var receiveBuffer = [UInt8](repeating: 0, count: 4096)

    /// Nothing new can go out: waits a moment for acknowledgements on the
    /// open connection, or reconnects (which resends) when there is none.
    private func awaitAcknowledgements() {
        if let c = connection {
            c.waitReadable(milliseconds: 10)
            _ = readAcknowledgements(c)
        } else if !ensureConnection() {
            Self.sleep(min(max(nextAttempt - Self.monotonic(), 0), 20_000_000) + 1_000_000)
        }
    }

    private func failed(_ c: CollectorConnection) {
        tap.counters.withLock { $0.lastError = "write to the collector failed: \(String(cString: strerror(errno)))" }
        c.close()
        connection = nil
    }

    static func setFrameLength(_ bytes: inout [UInt8], at offset: Int, length: Int) {
        let value = UInt32(length)
        bytes[offset + 1] = UInt8(truncatingIfNeeded: value)
        bytes[offset + 2] = UInt8(truncatingIfNeeded: value >> 8)
        bytes[offset + 3] = UInt8(truncatingIfNeeded: value >> 16)
        bytes[offset + 4] = UInt8(truncatingIfNeeded: value >> 24)
    }

    static func monotonic() -> Int64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Int64(t.tv_sec) * 1_000_000_000 + Int64(t.tv_nsec)
    }

    static func sleep(_ nanoseconds: Int64) {
        var t = timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
        _ = nanosleep(&t, nil)
    }
}
