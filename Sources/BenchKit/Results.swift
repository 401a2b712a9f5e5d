import Foundation

/// One benchmark case's result, as written to output/bench/results.json.
public struct BenchResult: Codable, Equatable, Sendable {
  /// The kernel or task ("gemm-final", "conv2d-fwd-bwd", "relu", "train-step", "render-png").
  public var kernel: String
  /// Its size ("512x512x512", "64x3x32x32 -> 32 k3").
  public var shape: String
  public var threads: Int
  public var median_seconds: Double
  public var min_seconds: Double
  public var max_seconds: Double
  /// (max - min) / median of the repeated runs.
  public var spread: Double
  public var gflops: Double?
  public var gbps: Double?
  /// numpy's float32 matmul at the same shape and thread count, measured in the same run.
  public var numpy_gflops: Double?
  /// Other rates: images per second, frames, ratios against a reference.
  public var extra: [String: Double]?

  public init(kernel: String, shape: String, threads: Int, samples: [Double], gflops: Double? = nil, gbps: Double? = nil, numpy_gflops: Double? = nil, extra: [String: Double]? = nil) {
    let sorted = samples.sorted()
    self.kernel = kernel
    self.shape = shape
    self.threads = threads
    median_seconds = sorted[sorted.count / 2]
    min_seconds = sorted.first!
    max_seconds = sorted.last!
    spread = (max_seconds - min_seconds) / median_seconds
    self.gflops = gflops
    self.gbps = gbps
    self.numpy_gflops = numpy_gflops
    self.extra = extra
  }

  /// What identifies a case across runs.
  public var key: String { "\(kernel) \(shape) t\(threads)" }
}

/// The machine a run was measured on.
public struct Machine: Codable, Equatable, Sendable {
  public var cpu: String
  public var cores: Int
  public var gemm_kernel: String
  public var date: String
  public init(cpu: String, cores: Int, gemm_kernel: String, date: String) {
    self.cpu = cpu
    self.cores = cores
    self.gemm_kernel = gemm_kernel
    self.date = date
  }

  /// The "model name" line of /proc/cpuinfo, or "unknown".
  public static func cpuModel() -> String {
    guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
      let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
      let colon = line.firstIndex(of: ":")
    else { return "unknown" }
    return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
  }
}

/// A whole results file.
public struct BenchReport: Codable, Equatable, Sendable {
  public var machine: Machine
  public var results: [BenchResult]
  public init(machine: Machine, results: [BenchResult]) {
    self.machine = machine
    self.results = results
  }

  public func encoded() throws -> Data {
    let e = JSONEncoder()
    e.outputFormatting = [.prettyPrinted, .sortedKeys]
    return try e.encode(self)
  }

  public static func load(_ path: String) throws -> BenchReport {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw BenchError("cannot read the baseline '\(path)': check the path (a results.json written by make bench)")
    }
    do {
      return try JSONDecoder().decode(BenchReport.self, from: data)
    } catch {
      throw BenchError("the baseline '\(path)' is not a results file of make bench (\(error.localizedDescription))")
    }
  }
}

public struct BenchError: Error, CustomStringConvertible {
  public let description: String
  public init(_ description: String) { self.description = description }
}

/// A case that got slower than its baseline by more than the threshold.
public struct Regression: Equatable, CustomStringConvertible {
  public let key: String
  public let baselineSeconds: Double
  public let seconds: Double
  /// seconds / baselineSeconds - 1.
  public var slowdown: Double { seconds / baselineSeconds - 1 }
  public var description: String {
    String(format: "%@: %.3f ms, was %.3f ms (%+.0f%%)", key, seconds * 1e3, baselineSeconds * 1e3, slowdown * 100)
  }
}

/// Cases of `current` whose median time exceeds the baseline's by more than `threshold` (0.1 = 10%), and
/// the keys of cases only one side has.
public func compare(_ current: BenchReport, baseline: BenchReport, threshold: Double) -> (regressions: [Regression], unmatched: [String]) {
  let old = Dictionary(baseline.results.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
  var regressions: [Regression] = []
  var unmatched: [String] = []
  for r in current.results {
    guard let b = old[r.key] else {
      unmatched.append(r.key)
      continue
    }
    if r.median_seconds > b.median_seconds * (1 + threshold) {
      regressions.append(Regression(key: r.key, baselineSeconds: b.median_seconds, seconds: r.median_seconds))
    }
  }
  return (regressions, unmatched)
}
