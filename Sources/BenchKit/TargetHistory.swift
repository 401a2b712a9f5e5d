import Foundation

/// Issue #19's targets across `make bench` runs (output/bench/targets-history.json), so that a run can say
/// whether each target held in the last three runs in a row on this processor: the bar.
public struct TargetHistory: Codable, Equatable, Sendable {
  /// One target in one run: what it asks, the measured value as printed, and whether it held (nil: not measured).
  public struct Outcome: Codable, Equatable, Sendable {
    public var target: String
    public var value: String
    public var holds: Bool?
    public init(target: String, value: String, holds: Bool?) { (self.target, self.value, self.holds) = (target, value, holds) }
  }
  /// One run's outcomes.
  public struct Run: Codable, Equatable, Sendable {
    public var date: String
    public var cpu: String
    /// `--quick` runs are recorded but do not count towards a streak (shorter timings).
    public var quick: Bool
    /// Whether every case ran (no `--filter`): only then does the run count.
    public var complete: Bool
    public var outcomes: [Outcome]
    public init(date: String, cpu: String, quick: Bool, complete: Bool, outcomes: [Outcome]) {
      (self.date, self.cpu, self.quick, self.complete, self.outcomes) = (date, cpu, quick, complete, outcomes)
    }
  }

  public var runs: [Run]
  public init(runs: [Run] = []) { self.runs = runs }

  public static func decode(_ data: Data) throws -> TargetHistory { try JSONDecoder().decode(TargetHistory.self, from: data) }
  public func encoded() throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    return try encoder.encode(self)
  }

  /// Adds a run, keeping at most `keeping`: beyond that the oldest earlier quick or filtered run goes first (they
  /// count towards no streak), then the oldest run.
  public mutating func append(_ run: Run, keeping: Int = 30) {
    runs.append(run)
    while runs.count > max(1, keeping) {
      // (Never the run just added.)
      runs.remove(at: runs.dropLast().firstIndex { $0.quick || !$0.complete } ?? 0)
    }
  }

  /// The outcomes of `target` in the last `count` counting runs on `cpu` (full, not quick), oldest first;
  /// fewer when there have not been that many.
  public func recent(_ target: String, cpu: String, count: Int = 3) -> [Bool?] {
    let counting = runs.filter { $0.cpu == cpu && !$0.quick && $0.complete }.suffix(count)
    return counting.map { run in run.outcomes.first { $0.target == target }?.holds }
  }

  /// Whether `target` held in each of the last `count` counting runs on `cpu` (false when there are fewer).
  public func heldInARow(_ target: String, cpu: String, count: Int = 3) -> Bool {
    let outcomes = recent(target, cpu: cpu, count: count)
    return outcomes.count == count && outcomes.allSatisfy { $0 == true }
  }
}
