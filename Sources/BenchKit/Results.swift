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
  /// Every timed run, in seconds, in the order taken (kept so that results.json has the repetitions).
  public var samples: [Double]

  public init(kernel: String, shape: String, threads: Int, samples: [Double], gflops: Double? = nil, gbps: Double? = nil, numpy_gflops: Double? = nil, extra: [String: Double]? = nil) {
    let sorted = samples.sorted()
    self.samples = samples
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
public struct Machine: Equatable, Sendable {
  public var cpu: String
  public var cores: Int
  public var gemm_kernel: String
  public var date: String
  /// The FMA loop's rate on one core and on all cores (GFLOP/s), when the run measured it.
  public var peak_fma_gflops: (one: Double, all: Double)?
  /// numpy's version, when the run measured numpy.
  public var numpy_version: String?
  public init(cpu: String, cores: Int, gemm_kernel: String, date: String, peak_fma_gflops: (one: Double, all: Double)? = nil, numpy_version: String? = nil) {
    self.cpu = cpu
    self.cores = cores
    self.gemm_kernel = gemm_kernel
    self.date = date
    self.peak_fma_gflops = peak_fma_gflops
    self.numpy_version = numpy_version
  }

  public static func == (a: Machine, b: Machine) -> Bool {
    a.cpu == b.cpu && a.cores == b.cores && a.gemm_kernel == b.gemm_kernel && a.date == b.date
      && a.peak_fma_gflops?.one == b.peak_fma_gflops?.one && a.peak_fma_gflops?.all == b.peak_fma_gflops?.all
      && a.numpy_version == b.numpy_version
  }

  /// The "model name" line of /proc/cpuinfo, or "unknown".
  public static func cpuModel() -> String {
    guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
      let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
      let colon = line.firstIndex(of: ":")
    else { return "unknown" }
    return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
  }

  /// The processor as precisely as /proc/cpuinfo names it: the model name with its family, model and stepping
  /// ("AMD EPYC" alone covers several generations), for telling runs on different processors apart.
  public static func cpuIdentity() -> String {
    guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return cpuModel() }
    func field(_ name: String) -> String? {
      guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(name) && $0.dropFirst(name.count).trimmingCharacters(in: .whitespaces).hasPrefix(":") }),
        let colon = line.firstIndex(of: ":") else { return nil }
      return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    let numbers = [("family", field("cpu family")), ("model", field("model")), ("stepping", field("stepping"))].compactMap { name, value in value.map { "\(name) \($0)" } }
    return cpuModel() + (numbers.isEmpty ? "" : " (" + numbers.joined(separator: ", ") + ")")
  }
}

/// A whole run: the machine and its cases. `encoded()` writes it in google-benchmark's JSON layout
/// (GoogleBenchmark.swift).
public struct BenchReport: Equatable, Sendable {
  public var machine: Machine
  public var results: [BenchResult]
  public init(machine: Machine, results: [BenchResult]) {
    self.machine = machine
    self.results = results
  }
}

public struct BenchError: Error, CustomStringConvertible {
  public let description: String
  public init(_ description: String) { self.description = description }
}

extension BenchResult {
  /// Ours against numpy: the median of paired rounds' ratios where the case has them (`of_numpy`: the square
  /// GEMMs), else the two medians' ratio.
  public var ratioToNumpy: Double? {
    if let paired = extra?["of_numpy"] { return paired }
    guard let g = gflops, let n = numpy_gflops else { return nil }
    return g / n
  }
}
