import Baselines
import ChunkModel
import Testing

@Suite("HourOfWeekProfile: level, spread and activity by hour of the week")
struct HourOfWeekProfileTests {
    /// 2026-11-23T00:00:00Z, a Monday.
    static let monday: Int64 = 1_795_392_000_000_000_000
    static let minute: Int64 = 60_000_000_000
    static let hour: Int64 = 60 * minute
    static let day: Int64 = 24 * hour

    /// The index of the five-minute bucket at `day` days and `hour` hours (and `minute` minutes) into the run.
    static func bucket(_ day: Int, _ hour: Int, _ minute: Int = 0) -> Int64 {
        (monday + Int64(day) * Self.day + Int64(hour) * Self.hour + Int64(minute) * Self.minute) / (5 * Self.minute)
    }

    func profile(weight: Double = 0.25) -> HourOfWeekProfile {
        var p = HourOfWeekProfile(bucket: .seconds(300), weight: weight)
        p.reset(0)
        return p
    }

    @Test func cellsFollowTheUTCWeekFromMonday() {
        #expect(HourOfWeekProfile.cell(ofHour: Self.monday / Self.hour) == 0)
        #expect(HourOfWeekProfile.cell(ofHour: Self.monday / Self.hour - 1) == 167)
        #expect(HourOfWeekProfile.cell(ofHour: 0) == 3 * 24)  // 1970-01-01 was a Thursday
        var rng = SplitMix64(seed: 3)
        for _ in 0..<2000 {
            let ns = Int64.random(in: -4_000_000_000_000_000_000...4_000_000_000_000_000_000, using: &rng)
            let t = Timestamp(nanoseconds: ns)
            var h = ns / Self.hour
            if ns % Self.hour < 0 { h -= 1 }
            #expect(HourOfWeekProfile.cell(ofHour: h) == t.dayOfWeek * 24 + t.secondOfDay / 3600)
        }
    }

    @Test func anHourIsNotJudgedByItself() {
        var p = profile()
        // Monday 09:00–10:00, twelve active buckets of 100.
        for m in stride(from: 0, to: 60, by: 5) {
            #expect(p.expectation(0, bucket: Self.bucket(0, 9, m)).source == .none)
            p.add(0, bucket: Self.bucket(0, 9, m), value: 100)
        }
        // Until event time leaves 09:xx nothing is folded.
        #expect(p.expectation(0, bucket: Self.bucket(0, 9, 55)).source == .none)
        p.advance(0, to: Self.bucket(0, 10))
        let sameDayLater = p.expectation(0, bucket: Self.bucket(0, 10))
        #expect(sameDayLater.source == .overall && sameDayLater.mean == 100)
        let nextMorning = p.expectation(0, bucket: Self.bucket(1, 9, 30))
        #expect(nextMorning.source == .hourOfDay && nextMorning.mean == 100 && nextMorning.hours == 1)
    }

    @Test func fallsBackFromTheWeekToTheDayToTheWhole() {
        var p = profile()
        // Two weeks of Mondays 09:00 at 200, other days' 09:00 at 100, 14:00 every day at 50.
        for d in 0..<14 {
            for m in stride(from: 0, to: 60, by: 5) { p.add(0, bucket: Self.bucket(d, 9, m), value: d % 7 == 0 ? 200 : 100) }
            for m in stride(from: 0, to: 60, by: 5) { p.add(0, bucket: Self.bucket(d, 14, m), value: 50) }
        }
        p.advance(0, to: Self.bucket(14, 0))
        // Monday 09:00 has two hours of its own.
        let monday = p.expectation(0, bucket: Self.bucket(14, 9, 10))
        #expect(monday.source == .hourOfWeek && abs(monday.mean - 200) < 1e-3 && monday.sd < 1e-3)
        // 14:00 on a Monday: two hours of its own too.
        #expect(p.expectation(0, bucket: Self.bucket(14, 14)).mean == 50)
        // An hour never active falls back to the whole profile, active buckets only.
        let night = p.expectation(0, bucket: Self.bucket(14, 3))
        #expect(night.source == .overall)
        #expect(night.mean > 50 && night.mean < 200)
        #expect(night.activity == 0 && night.activityHours >= 2)
        // With one week only, Tuesday 09:00 pools the hour over the days.
        var q = profile()
        for d in 0..<7 {
            for m in stride(from: 0, to: 60, by: 5) { q.add(0, bucket: Self.bucket(d, 9, m), value: d == 0 ? 200 : 100) }
        }
        q.advance(0, to: Self.bucket(7, 0))
        let pooled = q.expectation(0, bucket: Self.bucket(8, 9))
        #expect(pooled.source == .hourOfDay)
        #expect(abs(pooled.mean - (200 + 6 * 100) / 7) < 1e-3)
        // The pooled spread is the mixture's: between-day differences count.
        #expect(abs(pooled.sd - (1.0 / 7 * 6 / 7).squareRoot() * 100) < 1e-2)
    }

    @Test func theFirstHoursWeighEquallyThenOldOnesFade() {
        var p = profile(weight: 0.25)
        // The same Monday 09:00 cell, one occurrence a week: 10, then 20.
        for (week, value) in [(0, 10.0), (1, 20.0)] {
            for m in stride(from: 0, to: 60, by: 5) { p.add(0, bucket: Self.bucket(7 * week, 9, m), value: value) }
        }
        p.advance(0, to: Self.bucket(14, 0))
        var c = p.cellSummary(0, cell: 9)
        #expect(abs(c.mean - 15) < 1e-4 && abs(c.sd - 5) < 1e-4 && c.learnedHours == 2)
        // Many weeks at 40: the cell forgets 10 and 20 at a quarter per week.
        for week in 2..<30 {
            for m in stride(from: 0, to: 60, by: 5) { p.add(0, bucket: Self.bucket(7 * week, 9, m), value: 40) }
        }
        p.advance(0, to: Self.bucket(7 * 30, 0))
        c = p.cellSummary(0, cell: 9)
        #expect(abs(c.mean - 40) < 0.01)
    }

    @Test func activityIsTheShareOfActiveBucketsAndUnknownIsNotQuiet() {
        var p = profile()
        // An office worker: weekdays 09:00–17:00, active in every other bucket.
        for d in 0..<4 {
            for h in 9..<17 {
                for m in stride(from: 0, to: 60, by: 10) { p.add(0, bucket: Self.bucket(d, h, m), value: 30) }
            }
        }
        p.advance(0, to: Self.bucket(4, 2))
        // 03:00 was watched on three nights (Tuesday to Thursday) and never active.
        let night = p.expectation(0, bucket: Self.bucket(4, 3))
        #expect(night.activity == 0 && night.activityHours == 3)
        #expect(night.unconditionalMean == 0)
        let office = p.expectation(0, bucket: Self.bucket(4, 11))
        #expect(abs(office.activity - 0.5) < 1e-6 && office.mean == 30)
        #expect(abs(office.unconditionalMean - 15) < 1e-4)
        // Monday 03:00 came before the key was first seen: nothing is known of it.
        var fresh = profile()
        fresh.add(0, bucket: Self.bucket(0, 9), value: 1)
        fresh.advance(0, to: Self.bucket(0, 10))
        let unknown = fresh.expectation(0, bucket: Self.bucket(0, 10))
        #expect(unknown.activity == 1 && unknown.activityHours == 0)
    }

    @Test func aBucketOfAnHourAlreadyFoldedIsIgnored() {
        var p = profile()
        p.add(0, bucket: Self.bucket(0, 9, 0), value: 10)
        p.add(0, bucket: Self.bucket(0, 10, 0), value: 10)
        // Late: 09:xx was folded when 10:00 arrived.
        p.add(0, bucket: Self.bucket(0, 9, 5), value: 1000)
        p.advance(0, to: Self.bucket(0, 11))
        #expect(p.cellSummary(0, cell: 9).mean == 10)
        #expect(p.cellSummary(0, cell: 9).learnedHours == 1.0 / 12)
    }

    @Test func theFirstHourCountsOnlyTheBucketsAfterTheKeyAppeared() {
        var p = profile()
        // First seen at 09:30: six buckets watched, three of them active.
        for m in [30, 40, 50] { p.add(0, bucket: Self.bucket(0, 9, m), value: 1) }
        p.advance(0, to: Self.bucket(0, 10))
        let c = p.cellSummary(0, cell: 9)
        #expect(abs(c.activity - 0.5) < 1e-6 && c.seenHours == 0.5 && c.learnedHours == 0.25)
    }

    @Test func unlearnedBucketsCountAsActiveWithoutMovingTheLevel() {
        var p = profile()
        for m in stride(from: 0, to: 60, by: 5) { p.add(0, bucket: Self.bucket(0, 9, m), value: 100, learn: m < 30) }
        p.advance(0, to: Self.bucket(0, 10))
        let c = p.cellSummary(0, cell: 9)
        #expect(c.activity == 1 && c.mean == 100 && c.learnedHours == 0.5)
    }

    @Test func aLongGapVisitsEachCellOnceAndStaysCheap() {
        var p = profile()
        for m in stride(from: 0, to: 60, by: 5) { p.add(0, bucket: Self.bucket(0, 9, m), value: 5) }
        // A year later.
        p.add(0, bucket: Self.bucket(365, 9), value: 5)
        p.advance(0, to: Self.bucket(365, 10))
        let c = p.cellSummary(0, cell: 9)
        // Monday 09:00 kept its level and lost nearly all of its activity.
        #expect(c.mean == 5)
        #expect(c.activity < 0.01)
        #expect(p.cellSummary(0, cell: 100).seenHours > 40)
    }

    @Test func slotsResetForANewKeyAndStorageDoesNotGrow() {
        var p = HourOfWeekProfile(bucket: .seconds(60))
        for slot in 0..<3 { p.reset(slot) }
        for i in 0..<10_000 {
            p.add(i % 3, bucket: Self.bucket(0, 0) * 5 + Int64(i), value: Double(i % 7))
        }
        #expect(p.slots == 3)
        p.reset(1)
        p.advance(1, to: Self.bucket(3, 0) * 5)
        #expect(p.expectation(1, bucket: Self.bucket(3, 0) * 5).source == .none)
        #expect(p.expectation(0, bucket: Self.bucket(3, 0) * 5).source != .none)
    }

    @Test func levelAndSpreadOfNoisyBucketsAreLearned() {
        var p = HourOfWeekProfile(bucket: .seconds(60))
        p.reset(0)
        var rng = SplitMix64(seed: 9)
        // Fifteen days at 100 ± 10 (uniform: sd 10), one-minute buckets all day.
        let first = Self.monday / Self.minute
        for b in first..<(first + 15 * 1440) {
            p.add(0, bucket: b, value: 100 + Double.random(in: -17.32...17.32, using: &rng))
        }
        let e = p.expectation(0, bucket: first + 15 * 1440 + 30)
        #expect(e.source == .hourOfWeek)
        #expect(abs(e.mean - 100) < 2)
        #expect(abs(e.sd - 10) < 1.5)
        #expect(e.activity == 1)
    }
}
