import ChunkModel
import Testing

@testable import Workload

@Suite struct ScheduleTests {
    static let day = Population.day
    static let hour = Population.hour
    /// Friday 2026-11-27 00:00 UTC.
    static let friday = Timestamp(rfc3339: "2026-11-27T00:00:00Z")!.nanoseconds

    func schedule(_ role: PrincipalProfile.Role, start: Int64 = friday, days: Int64 = 7) -> ActivitySchedule {
        ActivitySchedule(
            role: role, start: start, end: start + days * Self.day, rate: 1, timeOfDay: 2 * Self.hour, seed: 5,
            index: 3)
    }

    @Test func peopleWorkWeekdayOfficeHoursInSessions() {
        let s = schedule(.human)
        for d in s.firstDay...s.lastDay {
            let sessions = s.sessions(onDay: d)
            let weekday = Timestamp(nanoseconds: d * Self.day).dayOfWeek < 5
            #expect(sessions.isEmpty == !weekday)
            var previousEnd = Int64.min
            for session in sessions {
                #expect(session.start >= d * Self.day + 8 * Self.hour)
                #expect(session.end <= d * Self.day + 18 * Self.hour)
                #expect(session.start >= previousEnd + 5 * 60 * Population.second, "a pause between sessions")
                #expect(session.end - session.start <= 60 * 60 * Population.second)
                #expect(session.rate >= 0.2 && session.rate <= 3)
                previousEnd = session.end
            }
        }
    }

    @Test func batchJobsRunOnceADayAtTheirTime() {
        let s = schedule(.batch)
        for d in s.firstDay...s.lastDay {
            let sessions = s.sessions(onDay: d)
            #expect(sessions.count == 1)
            let run = sessions[0]
            #expect(run.start >= d * Self.day + 2 * Self.hour && run.start <= d * Self.day + 2 * Self.hour + 60 * Population.second)
            let minutes = (run.end - run.start) / Population.minute
            #expect(minutes >= 20 && minutes <= 40)
        }
    }

    @Test func aDaysSessionsDoNotDependOnWhereTheRunStarts() {
        let early = schedule(.human)
        let late = schedule(.human, start: Self.friday + 3 * Self.day, days: 4)
        // Monday is day 3 of the early run and day 0 of the late one.
        let monday = late.firstDay
        let a = early.sessions(onDay: monday).map { [$0.start, $0.end] }
        let b = late.sessions(onDay: monday).map { [$0.start, $0.end] }
        #expect(!a.isEmpty)
        #expect(a == b)
    }

    @Test func servicesHaveOneSessionCoveringTheRun() {
        let s = schedule(.service)
        #expect(s.sessions(onDay: s.firstDay).map { [$0.start, $0.end] } == [[s.start, s.end]])
        #expect(s.sessions(onDay: s.firstDay + 1).isEmpty)
        #expect(s.sessions(from: s.start + 3 * Self.day, days: 1, where: { _ in true }).count == 1)
    }

    @Test func addedSessionsJoinTheirDay() {
        var s = schedule(.human)
        let night = Session(start: s.start + 3 * Self.day + 3 * Self.hour, end: s.start + 3 * Self.day + 3 * Self.hour + 600 * Population.second, rate: 1)
        s.add(night)
        let monday = s.sessions(onDay: s.firstDay + 3)
        #expect(monday.first?.start == night.start)
        #expect(zip(monday, monday.dropFirst()).allSatisfy { $0.end <= $1.start })
    }

    /// Nothing is drawn per day up front, so a long run over many principals
    /// starts at once, and every anomaly still finds a place.
    @Test func longRunsStartWithoutPregeneratingSessions() throws {
        let clock = ContinuousClock()
        let started = clock.now
        var generator = try WorkloadGenerator(config: WorkloadConfig(principals: 2_000, hours: 24 * 365))
        #expect(clock.now - started < .seconds(5))
        #expect(generator.unplacedAnomalies.isEmpty)
        #expect(generator.labels.count == 8)
        var out = OutputBuffer()
        #expect(generator.fill(into: &out, upToBytes: 100_000) > 0)
    }
}
