import BenchKit
import Foundation
import XCTest

final class CompareTests: XCTestCase {
  /// A small synthetic run: a GEMM with 25 samples around `gemmSeconds`, a convolution with one.
  func report(_ gemmSeconds: Double, conv: Double = 0.01) -> BenchReport {
    let gemm = (0..<25).map { gemmSeconds * (1 + 0.01 * Double($0 % 3 - 1)) }
    return BenchReport(
      machine: Machine(cpu: "test", cores: 2, gemm_kernel: "avx2-6x16", date: "2026-01-01T00:00:00Z", peak_fma_gflops: (100, 200), numpy_version: "2.0.0"),
      results: [
        BenchResult(kernel: "gemm-final", shape: "1024x1024x1024", threads: 2, samples: gemm, gflops: 2 * 1024 * 1024 * 1024 / gemmSeconds / 1e9, numpy_gflops: 150),
        BenchResult(kernel: "relu", shape: "4M", threads: 2, samples: [conv, conv * 1.02, conv * 0.98], gbps: 3.2, extra: ["of_relu": 1]),
      ])
  }

  func json(_ report: BenchReport) throws -> [String: Any] {
    try XCTUnwrap(try JSONSerialization.jsonObject(with: try report.encoded(hostName: "host", executable: "bench")) as? [String: Any])
  }

  func testTheFileHasGoogleBenchmarksLayout() throws {
    let root = try json(report(0.01))
    let context = try XCTUnwrap(root["context"] as? [String: Any])
    for key in ["date", "host_name", "executable", "num_cpus", "cpu_scaling_enabled", "library_build_type", "gemm_kernel", "peak_fma_gflops_one_core", "numpy_version"] {
      XCTAssertNotNil(context[key], "context lacks \(key)")
    }
    XCTAssertEqual(context["library_build_type"] as? String, "release")
    XCTAssertEqual(context["cpu_scaling_enabled"] as? Bool, false)
    XCTAssertEqual(context["numpy_version"] as? String, "2.0.0")
    let benchmarks = try XCTUnwrap(root["benchmarks"] as? [[String: Any]])
    let gemm = benchmarks.filter { $0["run_name"] as? String == "gemm-final/1024x1024x1024/threads:2" }
    let reps = gemm.filter { $0["run_type"] as? String == "iteration" }
    // 25 samples kept as 10 repetitions of 2 or 3 iterations.
    XCTAssertEqual(reps.count, 10)
    XCTAssertEqual(reps.map { $0["iterations"] as? Int ?? 0 }.reduce(0, +), 25)
    XCTAssertEqual(reps.map { $0["repetition_index"] as? Int ?? -1 }, Array(0..<10))
    for e in benchmarks {
      for key in ["name", "run_name", "run_type", "repetitions", "threads", "iterations", "real_time", "cpu_time", "time_unit"] {
        XCTAssertNotNil(e[key], "\(e["name"] ?? "?") lacks \(key)")
      }
      XCTAssert(["ns", "us", "ms"].contains(e["time_unit"] as? String ?? ""))
    }
    XCTAssertEqual(reps.first?["name"] as? String, "gemm-final/1024x1024x1024/threads:2")
    XCTAssertEqual(reps.first?["time_unit"] as? String, "us")
    XCTAssertEqual((reps.first?["real_time"] as? NSNumber)?.doubleValue ?? 0, 10_000, accuracy: 200)
    let aggregates = gemm.filter { $0["run_type"] as? String == "aggregate" }
    XCTAssertEqual(aggregates.compactMap { $0["aggregate_name"] as? String }, ["mean", "median", "stddev"])
    XCTAssertEqual(aggregates.compactMap { $0["name"] as? String }, ["mean", "median", "stddev"].map { "gemm-final/1024x1024x1024/threads:2_" + $0 })
    let median = try XCTUnwrap(aggregates.first { $0["aggregate_name"] as? String == "median" })
    XCTAssertEqual((median["gflops"] as? NSNumber)?.doubleValue ?? 0, 214.7, accuracy: 0.1)
    XCTAssertEqual((median["ratio_to_numpy"] as? NSNumber)?.doubleValue ?? 0, 214.7 / 150, accuracy: 1e-3)
    XCTAssertEqual((median["ratio_to_peak"] as? NSNumber)?.doubleValue ?? 0, 214.7 / 200, accuracy: 1e-3)
    let relu = try XCTUnwrap(benchmarks.first { $0["name"] as? String == "relu/4M/threads:2_median" })
    XCTAssertEqual((relu["bytes_per_second"] as? NSNumber)?.doubleValue ?? 0, 3.2e9, accuracy: 1)
    XCTAssertEqual((relu["of_relu"] as? NSNumber)?.doubleValue, 1)
  }

  /// A case measured in paired rounds (`of_numpy`: the median of each round's ratio) reports that ratio, not
  /// the ratio of the two medians; other cases the ratio of the medians.
  func testPairedRoundsRatioIsTheOneReported() throws {
    let paired = BenchResult(kernel: "gemm-blocked", shape: "512x512x512", threads: 1, samples: [0.004, 0.005], gflops: 60, numpy_gflops: 80, extra: ["of_numpy": 0.9])
    let plain = BenchResult(kernel: "gemm-cnn", shape: "conv2", threads: 2, samples: [0.004], gflops: 60, numpy_gflops: 80)
    XCTAssertEqual(paired.ratioToNumpy, 0.9)
    XCTAssertEqual(plain.ratioToNumpy, 0.75)
    XCTAssertNil(BenchResult(kernel: "relu", shape: "4M", threads: 2, samples: [0.001], gbps: 3).ratioToNumpy)
    var r = report(0.01)
    r.results = [paired]
    let benchmarks = try XCTUnwrap(try json(r)["benchmarks"] as? [[String: Any]])
    let median = try XCTUnwrap(benchmarks.first { $0["name"] as? String == "gemm-blocked/512x512x512/threads:1_median" })
    XCTAssertEqual((median["ratio_to_numpy"] as? NSNumber)?.doubleValue ?? 0, 0.9, accuracy: 1e-9)
  }

  func testReadingBackGivesMediansAndSpread() throws {
    let runs = try RunStats.parse(try report(0.01).encoded(), path: "x")
    XCTAssertEqual(runs.map(\.name), ["gemm-final/1024x1024x1024/threads:2", "relu/4M/threads:2"])
    XCTAssertEqual(runs[0].median, 0.01, accuracy: 1e-4)
    XCTAssertEqual(runs[1].median, 0.01, accuracy: 1e-9)
    XCTAssertEqual(runs[1].relativeStddev, 0.02, accuracy: 1e-9)
    // A file google-benchmark wrote (no aggregates: the repetitions are used).
    let theirs = """
      {"context": {"date": "x", "num_cpus": 2}, "benchmarks": [
        {"name": "BM_x/8", "run_name": "BM_x/8", "run_type": "iteration", "iterations": 100, "real_time": 1000, "cpu_time": 990, "time_unit": "ns"},
        {"name": "BM_x/8", "run_name": "BM_x/8", "run_type": "iteration", "iterations": 100, "real_time": 1100, "cpu_time": 1090, "time_unit": "ns"},
        {"name": "BM_x/8", "run_name": "BM_x/8", "run_type": "iteration", "iterations": 100, "real_time": 1200, "cpu_time": 1190, "time_unit": "ns"}]}
      """
    let parsed = try RunStats.parse(Data(theirs.utf8), path: "theirs.json")
    XCTAssertEqual(parsed.count, 1)
    XCTAssertEqual(parsed[0].median, 1.1e-6, accuracy: 1e-12)
    XCTAssertEqual(parsed[0].relativeStddev, 100.0 / 1100, accuracy: 1e-9)
  }

  func stats(_ median: Double, _ rel: Double) -> [RunStats] { [RunStats(name: "gemm", median: median, relativeStddev: rel)] }

  func testAChangeCountsOnlyBeyondTheRunsSpread() {
    // Spread 2% (the larger of the two): the bar is 3 x 2% = 6%.
    var c = compare(stats(0.0105, 0.01), baseline: stats(0.010, 0.02))
    XCTAssertEqual(c.regressions, [], "+5% is inside the spread")
    XCTAssertEqual(c.improvements, [])
    c = compare(stats(0.0095, 0.02), baseline: stats(0.010, 0.01))
    XCTAssertEqual(c.regressions + c.improvements, [], "-5% is inside the spread")
    c = compare(stats(0.012, 0.02), baseline: stats(0.010, 0.01))
    XCTAssertEqual(c.regressions.map(\.name), ["gemm"])
    XCTAssertEqual(c.improvements, [])
    XCTAssertEqual(c.regressions[0].bar, 0.06, accuracy: 1e-12)
    XCTAssert("\(c.regressions[0])".contains("+20.0%"), "\(c.regressions[0])")
    c = compare(stats(0.008, 0.02), baseline: stats(0.010, 0.01))
    XCTAssertEqual(c.improvements.map(\.name), ["gemm"])
    XCTAssertEqual(c.regressions, [], "faster is an improvement, never a regression")
    // The same +20% is noise when the runs themselves vary by 10%.
    c = compare(stats(0.012, 0.10), baseline: stats(0.010, 0.01))
    XCTAssertEqual(c.regressions + c.improvements, [])
    // No spread at all: the floor (2%) decides.
    XCTAssertEqual(compare(stats(0.0101, 0), baseline: stats(0.010, 0)).regressions, [])
    XCTAssertEqual(compare(stats(0.0103, 0), baseline: stats(0.010, 0)).regressions.count, 1)
    XCTAssertEqual(compare(stats(0.0103, 0), baseline: stats(0.010, 0), floor: 0.05).regressions, [])
    // Cases the baseline lacks are listed, not compared.
    XCTAssertEqual(compare(stats(0.01, 0), baseline: []).unmatched, ["gemm"])
  }

  func testWholeRunsCompare() throws {
    let old = try RunStats.parse(try report(0.010).encoded(), path: "old")
    let slower = try RunStats.parse(try report(0.013).encoded(), path: "new")
    let c = compare(slower, baseline: old)
    XCTAssertEqual(c.regressions.map(\.name), ["gemm-final/1024x1024x1024/threads:2"])
    XCTAssertEqual(c.improvements, [])
    XCTAssertEqual(compare(old, baseline: slower).improvements.map(\.name), ["gemm-final/1024x1024x1024/threads:2"])
  }

  func testBadAndOldBaselinesAreRefusedInOneLine() throws {
    let path = NSTemporaryDirectory() + "/bench-\(getpid()).json"
    defer { try? FileManager.default.removeItem(atPath: path) }
    XCTAssertThrowsError(try RunStats.load(path + ".missing")) { XCTAssert("\($0)".contains("cannot read the baseline")) }
    let old = """
      {"machine": {"cpu": "x", "cores": 2, "gemm_kernel": "avx2-6x16", "date": "d"},
       "results": [{"kernel": "relu", "shape": "4M", "threads": 2, "median_seconds": 0.01, "min_seconds": 0.01, "max_seconds": 0.01, "spread": 0}]}
      """
    try Data(old.utf8).write(to: URL(fileURLWithPath: path))
    XCTAssertThrowsError(try RunStats.load(path)) {
      XCTAssert("\($0)".contains("old layout"), "\($0)")
      XCTAssert("\($0)".contains("run make bench"), "\($0)")
      XCTAssertFalse("\($0)".contains("\n"))
    }
    for bad in ["{}", "[1, 2]", "not json", #"{"context": {}, "benchmarks": []}"#] {
      try Data(bad.utf8).write(to: URL(fileURLWithPath: path))
      XCTAssertThrowsError(try RunStats.load(path), bad) { XCTAssertFalse("\($0)".contains("\n"), "\($0)") }
    }
  }

  /// What google-benchmark's tools/compare.py reads (gbench/report.py and util.py): the context, and per
  /// benchmark name, real_time, cpu_time, time_unit, run_type and, for aggregates, aggregate_name.
  func testGoogleBenchmarksCompareScriptWouldReadIt() throws {
    guard let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) ?? which("python3") else {
      throw XCTSkip("python3 is missing")
    }
    let path = NSTemporaryDirectory() + "/bench-gb-\(getpid()).json"
    defer { try? FileManager.default.removeItem(atPath: path) }
    try report(0.01).encoded().write(to: URL(fileURLWithPath: path))
    let script = """
      import json, sys
      d = json.load(open(sys.argv[1]))
      assert isinstance(d["context"], dict), "context"
      names = []
      for b in d["benchmarks"]:
          for k in ("name", "real_time", "cpu_time", "time_unit", "run_type"):
              assert k in b, (k, b.get("name"))
          assert isinstance(b["real_time"], (int, float)) and isinstance(b["cpu_time"], (int, float))
          assert b["time_unit"] in ("ns", "us", "ms", "s"), b["time_unit"]
          assert b["run_type"] in ("iteration", "aggregate")
          if b["run_type"] == "aggregate":
              assert b["aggregate_name"] in ("mean", "median", "stddev"), b["aggregate_name"]
              assert b["name"] == b["run_name"] + "_" + b["aggregate_name"]
          else:
              assert b["name"] == b["run_name"]
          if b["name"] not in names: names.append(b["name"])
      # compare.py pairs runs by name and checks the unit per pair: one unit per run.
      for n in names:
          assert len({b["time_unit"] for b in d["benchmarks"] if b["name"] == n}) == 1, n
      print("ok", len(d["benchmarks"]))
      """
    let p = Process()
    p.executableURL = URL(fileURLWithPath: python)
    p.arguments = ["-c", script, path]
    let out = Pipe()
    p.standardOutput = out
    p.standardError = out
    try p.run()
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    XCTAssertEqual(p.terminationStatus, 0, text)
    XCTAssertEqual(text, "ok 19\n")
  }

  func which(_ tool: String) -> String? {
    (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { "\($0)/\(tool)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
  }
}
