import Foundation

// results.json in google-benchmark's JSON layout (what `--benchmark_format=json --benchmark_repetitions=N`
// writes), so that tools made for it (tools/compare.py and others) read our runs: a "context" object and a
// "benchmarks" list with one "iteration" entry per repetition and "mean", "median" and "stddev" aggregates.

extension BenchResult {
  /// The case's name in the file: "kernel/shape/threads:N", as google-benchmark names a threaded case.
  public var name: String { "\(kernel)/\(shape)/threads:\(threads)" }

  /// The samples in consecutive groups, at most `maxRepetitions` of them: each group is one repetition
  /// (google-benchmark's repetition is many iterations; ours are single timed runs, up to a thousand).
  public func repetitions(maxRepetitions: Int = 10) -> [[Double]] {
    let count = Swift.min(samples.count, maxRepetitions)
    guard count > 0 else { return [] }
    return (0..<count).map { i in Array(samples[(i * samples.count / count)..<((i + 1) * samples.count / count)]) }
  }
}

/// The time unit of every entry: microseconds. Fixed, as google-benchmark fixes a case's unit in code: a unit
/// picked from the measured time could differ between two runs of a case near a boundary, and compare
/// tools that take the numbers as they are (tools/compare.py) would then compare microseconds with
/// milliseconds. Our cases take from about a microsecond to a second.
func timeUnit(for seconds: Double) -> (name: String, scale: Double) { ("us", 1e6) }

extension Machine {
  /// The "cpu MHz" of /proc/cpuinfo, rounded, or nil.
  public static func mhzPerCPU() -> Int? {
    guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
      let line = text.split(separator: "\n").first(where: { $0.hasPrefix("cpu MHz") }),
      let colon = line.firstIndex(of: ":"),
      let mhz = Double(line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
    else { return nil }
    return Int(mhz.rounded())
  }

  /// The first processor's caches from /sys, as google-benchmark lists them (empty when unknown).
  public static func caches() -> [[String: Any]] {
    let root = "/sys/devices/system/cpu/cpu0/cache"
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: root) else { return [] }
    func read(_ path: String) -> String? {
      (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }
    return entries.filter { $0.hasPrefix("index") }.sorted().compactMap { index in
      let dir = root + "/" + index
      guard let type = read(dir + "/type"), let level = read(dir + "/level").flatMap({ Int($0) }), var size = read(dir + "/size") else { return nil }
      var scale = 1
      if size.hasSuffix("K") { scale = 1024; size.removeLast() } else if size.hasSuffix("M") { scale = 1 << 20; size.removeLast() }
      guard let bytes = Int(size) else { return nil }
      // "0-1,3" lists the processors that share the cache.
      let sharing = (read(dir + "/shared_cpu_list") ?? "").split(separator: ",").reduce(0) { n, part in
        let ends = part.split(separator: "-").compactMap { Int($0) }
        return n + (ends.count == 2 ? ends[1] - ends[0] + 1 : 1)
      }
      return ["type": type, "level": level, "size": bytes * scale, "num_sharing": Swift.max(sharing, 1)]
    }
  }
}

extension BenchReport {
  /// The file's "context": google-benchmark's fields, then ours (the GEMM kernel, the peak FMA rate, numpy).
  func context(hostName: String, executable: String) -> [String: Any] {
    var c: [String: Any] = [
      "date": machine.date, "host_name": hostName, "executable": executable, "num_cpus": machine.cores,
      "cpu_scaling_enabled": false, "library_build_type": "release", "caches": Machine.caches(),
      "cpu_model": machine.cpu, "gemm_kernel": machine.gemm_kernel,
      "cpu_time_note": "cpu_time repeats real_time: bench measures wall-clock time only",
    ]
    if let mhz = Machine.mhzPerCPU() { c["mhz_per_cpu"] = mhz }
    if let p = machine.peak_fma_gflops {
      c["peak_fma_gflops_one_core"] = p.one
      c["peak_fma_gflops_all_cores"] = p.all
    }
    if let v = machine.numpy_version { c["numpy_version"] = v }
    return c
  }

  /// The peak FMA rate for `threads` threads, when the run measured it.
  func peak(threads: Int) -> Double? {
    guard let p = machine.peak_fma_gflops, p.one > 0 else { return nil }
    return threads == 1 ? p.one : p.all * Double(threads) / Double(Swift.max(machine.cores, 1))
  }

  /// The "benchmarks" list: per case, one "iteration" entry per repetition, then the mean, median and
  /// stddev aggregates; our rates (gflops, bytes_per_second, numpy and peak ratios, extra) ride along.
  func benchmarks() -> [[String: Any]] {
    var out: [[String: Any]] = []
    for r in results {
      let reps = r.repetitions()
      guard !reps.isEmpty else { continue }
      let times = reps.map { $0.reduce(0, +) / Double($0.count) }
      let unit = timeUnit(for: r.median_seconds)
      func entry(_ name: String, seconds: Double, iterations: Int) -> [String: Any] {
        [
          "name": name, "run_name": r.name, "repetitions": reps.count, "threads": r.threads, "iterations": iterations,
          "real_time": seconds * unit.scale, "cpu_time": seconds * unit.scale, "time_unit": unit.name,
        ]
      }
      for (i, t) in times.enumerated() {
        var e = entry(r.name, seconds: t, iterations: reps[i].count)
        e["run_type"] = "iteration"
        e["repetition_index"] = i
        // Rates scale with 1/time: the case's rate at its median, moved to this repetition's time.
        if let g = r.gflops { e["gflops"] = g * r.median_seconds / t }
        if let g = r.gbps { e["bytes_per_second"] = g * 1e9 * r.median_seconds / t }
        out.append(e)
      }
      let mean = times.reduce(0, +) / Double(times.count)
      let median = quantileMedian(times)
      let stddev = times.count > 1 ? (times.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(times.count - 1)).squareRoot() : 0
      for (aggregate, value) in [("mean", mean), ("median", median), ("stddev", stddev)] {
        var e = entry(r.name + "_" + aggregate, seconds: value, iterations: reps.count)
        e["run_type"] = "aggregate"
        e["aggregate_name"] = aggregate
        if aggregate == "median" {
          // Our numbers, as the summary prints them: at the median of all the case's samples.
          e["samples"] = r.samples.count
          e["spread"] = r.spread
          if let g = r.gflops {
            e["gflops"] = g
            if let n = r.numpy_gflops { e["numpy_gflops"] = n; e["ratio_to_numpy"] = r.ratioToNumpy }
            if let p = peak(threads: r.threads) { e["ratio_to_peak"] = g / p }
          }
          if let g = r.gbps { e["bytes_per_second"] = g * 1e9 }
          for (k, v) in r.extra ?? [:] { e[k] = v }
        }
        out.append(e)
      }
    }
    return out
  }

  /// results.json: google-benchmark's layout, keys sorted, indented.
  public func encoded(hostName: String = ProcessInfo.processInfo.hostName, executable: String = CommandLine.arguments.first ?? "bench") throws -> Data {
    let root: [String: Any] = ["context": context(hostName: hostName, executable: executable), "benchmarks": benchmarks()]
    return try JSONSerialization.data(withJSONObject: root, options: [.prettyPrinted, .sortedKeys])
  }
}

func quantileMedian(_ values: [Double]) -> Double {
  let s = values.sorted()
  return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// One case of a results file, as the comparison sees it.
public struct RunStats: Equatable, Sendable {
  public let name: String
  /// Median time of the repetitions, seconds.
  public let median: Double
  /// Standard deviation of the repetitions over their mean (0 with a single repetition).
  public let relativeStddev: Double
  public init(name: String, median: Double, relativeStddev: Double) {
    self.name = name
    self.median = median
    self.relativeStddev = relativeStddev
  }

  /// The cases of a google-benchmark JSON file (ours or google-benchmark's), in file order: from the
  /// median, mean and stddev aggregates when present, else from the repetitions. `path` is for messages.
  public static func parse(_ data: Data, path: String) throws -> [RunStats] {
    guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
      throw BenchError("the baseline '\(path)' is not JSON: give a results.json written by make bench")
    }
    if root["benchmarks"] == nil, root["results"] != nil, root["machine"] != nil {
      throw BenchError("the baseline '\(path)' is in bench's old layout, which this version no longer reads: run make bench at that commit again (it now writes google-benchmark's layout) and compare with that")
    }
    guard root["context"] is [String: Any], let list = root["benchmarks"] as? [Any] else {
      throw BenchError("the baseline '\(path)' is not a results file of make bench (no \"context\" and \"benchmarks\"): give a results.json written by make bench")
    }
    var order: [String] = []
    var iterations: [String: [Double]] = [:]
    var aggregates: [String: [String: Double]] = [:]
    for case let e as [String: Any] in list {
      guard let name = e["name"] as? String, let time = (e["real_time"] as? NSNumber)?.doubleValue, (e["error_occurred"] as? Bool) != true else { continue }
      let scale: Double
      switch e["time_unit"] as? String ?? "ns" {
      case "ns": scale = 1e-9
      case "us": scale = 1e-6
      case "ms": scale = 1e-3
      case "s": scale = 1
      default: continue
      }
      let run = e["run_name"] as? String ?? name
      if !order.contains(run) { order.append(run) }
      if (e["run_type"] as? String) == "aggregate" {
        if let a = e["aggregate_name"] as? String { aggregates[run, default: [:]][a] = time * scale }
      } else {
        iterations[run, default: []].append(time * scale)
      }
    }
    if order.isEmpty { throw BenchError("the baseline '\(path)' has no timed benchmarks: give a results.json of a run that timed something") }
    return order.compactMap { run in
      let a = aggregates[run] ?? [:]
      let reps = iterations[run] ?? []
      let median = a["median"] ?? (reps.isEmpty ? nil : quantileMedian(reps))
      guard let median, median > 0 else { return nil }
      var rel = 0.0
      if let s = a["stddev"], let m = a["mean"], m > 0 {
        rel = s / m
      } else if reps.count > 1 {
        let m = reps.reduce(0, +) / Double(reps.count)
        rel = (reps.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(reps.count - 1)).squareRoot() / m
      }
      return RunStats(name: run, median: median, relativeStddev: rel)
    }
  }

  /// The cases of the results file at `path`.
  public static func load(_ path: String) throws -> [RunStats] {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw BenchError("cannot read the baseline '\(path)': check the path (a results.json written by make bench)")
    }
    return try parse(data, path: path)
  }
}

/// A case whose median moved by more than the runs' own spread allows.
public struct Change: Equatable, CustomStringConvertible, Sendable {
  public let name: String
  public let baselineSeconds: Double
  public let seconds: Double
  /// The relative change a case must exceed to count: `sigmas` x the larger relative standard deviation
  /// of the two runs, at least the floor.
  public let bar: Double
  /// seconds / baselineSeconds - 1: positive is slower.
  public var change: Double { seconds / baselineSeconds - 1 }
  public var isRegression: Bool { change > 0 }
  public var description: String {
    String(format: "%@: %.4g ms, was %.4g ms (%+.1f%%, beyond the runs' spread of ±%.1f%%)", name, seconds * 1e3, baselineSeconds * 1e3, change * 100, bar * 100)
  }
}

/// Compares the medians of the cases both runs have. A change counts only beyond `sigmas` times the larger
/// relative standard deviation of the two runs, and at least `floor` (0.02 = 2%): slower is a regression,
/// faster an improvement. `unmatched` are the current run's cases the baseline lacks.
public func compare(_ current: [RunStats], baseline: [RunStats], sigmas: Double = 3, floor: Double = 0.02) -> (regressions: [Change], improvements: [Change], unmatched: [String]) {
  let old = Dictionary(baseline.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
  var regressions: [Change] = []
  var improvements: [Change] = []
  var unmatched: [String] = []
  for r in current {
    guard let b = old[r.name] else {
      unmatched.append(r.name)
      continue
    }
    let bar = max(floor, sigmas * max(r.relativeStddev, b.relativeStddev))
    let c = Change(name: r.name, baselineSeconds: b.median, seconds: r.median, bar: bar)
    if c.change > bar { regressions.append(c) } else if c.change < -bar { improvements.append(c) }
  }
  return (regressions, improvements, unmatched)
}
