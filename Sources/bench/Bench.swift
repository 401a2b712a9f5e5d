// make bench: times the engine's kernels against the machine's limits and numpy, in one run.
import ArgumentParser
import BenchKit
import Datasets
import Dispatch
import Foundation
import Kernels
import Networks
import PackageInfo
import PlotGallery
import Plotting
import Support
import Tensors

@main
struct Bench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench",
    abstract: "Time GEMM, convolution, elementwise kernels, a CNN training step and figure rendering; compare with numpy, matplotlib and a saved baseline.",
    version: NeuralLessons.version)

  @Option(name: .long, help: "Only the cases whose kernel or shape contains this text.")
  var filter: String?

  @Flag(name: .long, help: "Fewer sizes and shorter timings (a minute instead of several).")
  var quick = false

  @Option(name: .long, help: ArgumentHelp("A results.json from an earlier run to compare with.", valueName: "file"))
  var baseline: String?

  @Option(name: .long, help: "Smallest change of a median that --baseline counts (0.02 = 2%); the bar is 3 times the larger relative standard deviation of the two runs, at least this.")
  var threshold: Double = 0.02

  @Flag(name: .long, help: "Exit with status 1 when --baseline finds a regression (improvements never fail).")
  var failOnRegression = false

  @Option(name: .long, help: ArgumentHelp("Folder for results.json and the figures.", valueName: "dir"))
  var out: String = "output/bench"

  @Option(name: .long, help: "Minimum seconds of repetitions per case (default 0.5, 0.15 with --quick).")
  var minTime: Double?

  func validate() throws {
    guard threshold > 0, threshold.isFinite else { throw ValidationError("--threshold must be a positive number, got \(threshold)") }
    if let minTime, !(minTime > 0 && minTime <= 600) { throw ValidationError("--min-time must be a number of seconds in (0, 600], got \(minTime)") }
    // The output folder is checked before the suite runs (minutes), not after.
    let folder: String
    do { folder = try checkedOutputFolder(out, flag: "--out", example: "output/bench") } catch let error as PathError {
      throw ValidationError(error.description)
    }
    let probe = folder + "/.write-test-\(getpid())"
    do {
      try writeAtomically(Data(), to: probe)
      try? FileManager.default.removeItem(atPath: probe)
    } catch {
      throw ValidationError("the output folder '\(folder)' is not writable (\(error)); pick another with --out")
    }
    if let baseline, !FileManager.default.fileExists(atPath: baseline) {
      throw ValidationError("the baseline '\(baseline)' does not exist: give a results.json written by an earlier make bench")
    }
  }

  func run() throws {
    let baselineRuns = try baseline.map { try RunStats.load($0) }
    var suite = Suite(filter: filter, quick: quick, minTime: minTime ?? (quick ? 0.15 : 0.5))
    let machine = Machine(cpu: Machine.cpuModel(), cores: ProcessInfo.processInfo.activeProcessorCount, gemm_kernel: GEMM.kernelName, date: ISO8601DateFormatter().string(from: Date()))
    print("bench: \(machine.cpu), \(machine.cores) cores, GEMM micro-kernel \(machine.gemm_kernel)\(quick ? ", quick" : "")")
    print("bench: blocking: \(GEMM.blockingDescription); \(ConvLayout.chunkingDescription)")
    try suite.runAll()
    // No case matched: an error that keeps the previous results.json (and cannot pass --fail-on-regression).
    guard !suite.results.isEmpty else { throw BenchError("no benchmark case matches --filter '\(filter ?? "")': nothing was timed and \(out)/results.json is left as it was") }
    var report = BenchReport(machine: machine, results: suite.results)
    if suite.peak.one > 0 { report.machine.peak_fma_gflops = suite.peak }
    if suite.results.contains(where: { $0.numpy_gflops != nil }) { report.machine.numpy_version = numpyVersion() }
    try writeAtomically(try report.encoded(), to: out + "/results.json")
    try Figures.draw(report, peak: suite.peak, to: out)
    // This run's targets join the history kept beside results.json (an unreadable one is started afresh).
    let historyPath = out + "/targets-history.json"
    var history = TargetHistory()
    if let data = FileManager.default.contents(atPath: historyPath) {
      do { history = try TargetHistory.decode(data) } catch {
        print("bench: \(historyPath) is not a target history (\(error)); starting a new one")
      }
    }
    let outcomes = suite.targets(), processor = "\(Machine.cpuIdentity()), \(machine.cores) cores, \(machine.gemm_kernel)"
    history.append(.init(date: machine.date, cpu: processor, quick: quick, complete: filter == nil, outcomes: outcomes))
    try writeAtomically(try history.encoded(), to: historyPath)
    suite.printSummary(targetOutcomes: outcomes, history: history, cpu: processor)
    print("bench: wrote \(out)/results.json, targets-history.json and figures (gemm.png/svg, kernels.png/svg)")

    if let baselineRuns {
      let current = try RunStats.parse(try report.encoded(), path: out + "/results.json")
      let (regressions, improvements, unmatched) = compare(current, baseline: baselineRuns, floor: threshold)
      print(String(format: "\nAgainst %@ (medians; a change counts beyond 3x the runs' relative standard deviation, at least %.0f%%):", baseline!, threshold * 100))
      if regressions.isEmpty { print("  no regressions") }
      for r in regressions { print("  REGRESSION  \(r)") }
      if improvements.isEmpty { print("  no improvements") }
      for r in improvements { print("  IMPROVEMENT \(r)") }
      if !unmatched.isEmpty { print("  \(unmatched.count) cases not in the baseline") }
      if failOnRegression && !regressions.isEmpty { throw ExitCode(1) }
    }
  }
}

/// Why bench stopped: one line.
struct BenchError: Error, CustomStringConvertible, LocalizedError {
  let description: String
  init(_ description: String) { self.description = description }
  var errorDescription: String? { description }
}
