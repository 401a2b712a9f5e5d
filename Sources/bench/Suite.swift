import BenchKit
import Dispatch
import Foundation
import Kernels
import Networks
import PlotGallery
import Plotting
import Tensors

/// The benchmark cases, run in one process so that every ratio compares numbers taken minutes apart at most.
struct Suite {
  let filter: String?
  let quick: Bool
  let minTime: Double
  var results: [BenchResult] = []
  /// Peak GFLOP/s of one core and of all cores, from the FMA loop.
  var peak: (one: Double, all: Double) = (0, 0)
  let cores = ProcessInfo.processInfo.activeProcessorCount

  func wants(_ kernel: String, _ shape: String) -> Bool {
    guard let filter else { return true }
    return kernel.contains(filter) || shape.contains(filter)
  }

  mutating func add(_ kernel: String, _ shape: String, threads: Int, _ t: Timing, flops: Double? = nil, bytes: Double? = nil, numpy: Double? = nil, extra: [String: Double]? = nil) {
    let r = BenchResult(kernel: kernel, shape: shape, threads: threads, samples: t.samples, gflops: flops.map { $0 / t.median / 1e9 }, gbps: bytes.map { $0 / t.median / 1e9 }, numpy_gflops: numpy, extra: extra)
    results.append(r)
    var line = String(format: "  %-22@ %-26@ t%d  %9.3f ms", kernel as NSString, shape as NSString, threads, t.median * 1e3)
    if let g = r.gflops { line += String(format: "  %7.1f GFLOP/s", g) }
    if let g = r.gbps { line += String(format: "  %6.1f GB/s", g) }
    if let n = numpy, let ratio = r.ratioToNumpy { line += String(format: "  numpy %6.1f (ours %.2fx)", n, ratio) }
    for (k, v) in (extra ?? [:]).sorted(by: { $0.key < $1.key }) where k != "of_numpy" { line += String(format: "  %@ %.2f", k, v) }
    print(line)
  }

  mutating func runAll() throws {
    measurePeak()
    try gemmSquare()
    try gemmCNNShapes()
    try convolution()
    try elementwise()
    try vectorMath()
    try trainingStep()
    try rendering()
  }

  // MARK: - Peak

  /// Rounds of the FMA loop per thread in one timing.
  var peakIterations: Int { quick ? 2_000_000 : 8_000_000 }
  /// The FMA loop on every core at once (`peakIterations` rounds each).
  var peakOnAllCores: () -> Void {
    let (iterations, cores) = (peakIterations, cores)
    return { DispatchQueue.concurrentPerform(iterations: cores) { _ in _ = PeakProbe.run(iterations: iterations) } }
  }

  mutating func measurePeak() {
    guard wants("peak-fma", "fma") else { return }
    // The FMA loop on the widest vectors the chosen micro-kernel uses (Kernels' PeakProbe: C intrinsics).
    let iterations = peakIterations
    let flopsPerThread = Double(iterations) * PeakProbe.flopsPerIteration
    let one = measure(minTime: minTime) { _ = PeakProbe.run(iterations: iterations) }
    add("peak-fma", PeakProbe.description, threads: 1, one, flops: flopsPerThread)
    let all = measure(minTime: minTime, peakOnAllCores)
    add("peak-fma", PeakProbe.description, threads: cores, all, flops: flopsPerThread * Double(cores))
    peak = (flopsPerThread / one.median / 1e9, flopsPerThread * Double(cores) / all.median / 1e9)
    // The same loop on bfloat16 dot products (two multiply-adds a lane), where the processor has them.
    if Precision.bfloat16.isNative {
      let flopsBF16 = Double(iterations) * PeakProbe.bfloat16FlopsPerIteration
      let oneBF16 = measure(minTime: minTime) { _ = PeakProbe.runBFloat16(iterations: iterations) }
      add("peak-bf16", "12 chains of VDPBF16PS", threads: 1, oneBF16, flops: flopsBF16)
      let allBF16 = measure(minTime: minTime) { DispatchQueue.concurrentPerform(iterations: cores) { _ in _ = PeakProbe.runBFloat16(iterations: iterations) } }
      add("peak-bf16", "12 chains of VDPBF16PS", threads: cores, allBF16, flops: flopsBF16 * Double(cores))
    }
  }

  // MARK: - GEMM

  func randomMatrix(_ count: Int, seed: UInt64) -> [Float] {
    var rng = SeededGenerator(seed: seed)
    return (0..<count).map { _ in rng.uniform(in: -1...1) }
  }

  func timeGEMM(m: Int, n: Int, k: Int, transB: Bool = false, threads: Int, naive: Bool = false, minTime: Double? = nil) -> Timing {
    measure(minTime: minTime ?? self.minTime, gemmCase(m: m, n: n, k: k, transB: transB, threads: threads, naive: naive))
  }

  /// One product on random operands (made once, kept by the closure), to be timed.
  func gemmCase(m: Int, n: Int, k: Int, transB: Bool = false, threads: Int, naive: Bool = false) -> () -> Void {
    let a = randomMatrix(m * k, seed: 1), b = randomMatrix(k * n, seed: 2)
    var c = [Float](repeating: 0, count: m * n)
    return {
      a.withUnsafeBufferPointer { pa in
        b.withUnsafeBufferPointer { pb in
          c.withUnsafeMutableBufferPointer { pc in
            if naive {
              GEMM.naive(m: m, n: n, k: k, a: pa.baseAddress!, lda: k, b: pb.baseAddress!, ldb: n, c: pc.baseAddress!, ldc: n)
            } else {
              GEMM.multiply(m: m, n: n, k: k, a: pa.baseAddress!, lda: k, b: pb.baseAddress!, ldb: transB ? k : n, transB: transB, c: pc.baseAddress!, ldc: n, threads: threads)
            }
          }
        }
      }
    }
  }

  mutating func gemmSquare() throws {
    let sizes = quick ? [64, 256, 512, 1024] : [64, 128, 256, 512, 1024, 2048]
    guard sizes.contains(where: { wants("gemm-final", "\($0)x\($0)x\($0)") || wants("gemm-naive", "\($0)x\($0)x\($0)") || wants("gemm-blocked", "\($0)x\($0)x\($0)") }) else { return }
    // numpy and ours in alternating rounds, paired size by size: numpy on one shape, then ours on it, with one
    // thread and then with all, so that the two sides of each ratio are measured seconds apart and the shared
    // machine's drift (it moves both ways by tens of percent within a minute) weighs on them alike. The ratio
    // is the median of the rounds' ratios (each round's: our median there over numpy's); numpy's rate is the
    // median of its rounds, ours the median of all our samples.
    let rounds = quick ? 1 : 5
    var np1 = [[Double]](repeating: [], count: sizes.count), npN = np1, ratio1 = np1, ratioN = np1
    var blocked = [[Double]](repeating: [], count: sizes.count), final = [[Double]](repeating: [], count: sizes.count)
    var numpyMissing = false
    for _ in 0..<rounds {
      for (i, n) in sizes.enumerated() {
        let shape = "\(n)x\(n)x\(n)", flops = 2 * Double(n * n * n)
        for (kernel, threads) in [("gemm-blocked", 1), ("gemm-final", cores)] where wants(kernel, shape) {
          let reference = numpyMissing ? nil : numpyGEMM([(n, n, n)], threads: threads, minTime: minTime / Double(rounds))?.first
          if reference == nil { numpyMissing = true }
          let ours = timeGEMM(m: n, n: n, k: n, threads: threads, minTime: minTime / Double(rounds))
          if threads == 1 { blocked[i] += ours.samples } else { final[i] += ours.samples }
          if let reference {
            if threads == 1 { np1[i].append(reference) } else { npN[i].append(reference) }
            let ratio = flops / ours.median / 1e9 / reference
            if threads == 1 { ratio1[i].append(ratio) } else { ratioN[i].append(ratio) }
          }
        }
      }
    }
    func median(_ values: [Double]) -> Double? {
      guard !values.isEmpty else { return nil }
      let v = values.sorted()
      return v[v.count / 2]
    }
    if numpyMissing { print("  (numpy is not available to python3: no numpy reference; pip install numpy to add it)") }
    for (i, n) in sizes.enumerated() {
      let shape = "\(n)x\(n)x\(n)", flops = 2 * Double(n * n * n)
      if n <= (quick ? 256 : 512) && wants("gemm-naive", shape) {
        add("gemm-naive", shape, threads: 1, timeGEMM(m: n, n: n, k: n, threads: 1, naive: true), flops: flops)
      }
      if !blocked[i].isEmpty {
        add("gemm-blocked", shape, threads: 1, Timing(samples: blocked[i]), flops: flops, numpy: median(np1[i]), extra: median(ratio1[i]).map { ["of_numpy": $0] })
      }
      if !final[i].isEmpty {
        add("gemm-final", shape, threads: cores, Timing(samples: final[i]), flops: flops, numpy: median(npN[i]), extra: median(ratioN[i]).map { ["of_numpy": $0] })
      }
    }
  }

  /// The matrix products inside the CIFAR CNN's training step at batch 64 (name, m, n, k, B transposed: the
  /// weight gradients are dY colsᵀ).
  static let cnnShapes: [(String, Int, Int, Int, Bool)] = [
    ("conv1 W·cols", 32, 64 * 30 * 30, 27, false), ("conv2 W·cols", 64, 64 * 13 * 13, 288, false), ("conv3 W·cols", 64, 64 * 4 * 4, 576, false),
    ("conv1 dW=dY·colsᵀ", 32, 27, 64 * 30 * 30, true), ("conv2 dW=dY·colsᵀ", 64, 288, 64 * 13 * 13, true), ("conv3 dW=dY·colsᵀ", 64, 576, 64 * 4 * 4, true),
    ("conv2 dcols", 288, 64 * 13 * 13, 64, false), ("dense 1024→64", 64, 64, 1024, false),
  ]

  mutating func gemmCNNShapes() throws {
    let chosen = Self.cnnShapes.filter { wants("gemm-cnn", $0.0) }
    guard !chosen.isEmpty else { return }
    let np = numpyGEMM(chosen.map { ($0.1, $0.2, $0.3) }, transB: chosen.map(\.4), threads: cores, minTime: minTime)
    for (i, s) in chosen.enumerated() {
      let (name, m, n, k, transB) = s
      add("gemm-cnn", "\(name) \(m)x\(n)x\(k)", threads: cores, timeGEMM(m: m, n: n, k: k, transB: transB, threads: cores), flops: 2 * Double(m * n * k), numpy: np?[i])
    }
  }

  // MARK: - Convolution

  mutating func convolution() throws {
    let layers: [(String, Int, Int, Int, Bool)] = [("conv1 3→32 32x32", 3, 32, 32, false), ("conv2 32→64 15x15", 32, 64, 15, true), ("conv3 64→64 6x6", 64, 64, 6, true)]
    // Each layer's passes are timed in alternating rounds with the 1024³ GEMM on all cores, and their "of our
    // GEMM's rate" is against that GEMM's rate in the same rounds (the shared machine's drift weighs on both).
    let reference = 1024, referenceFlops = 2 * Double(reference * reference * reference)
    let referenceCase = gemmCase(m: reference, n: reference, k: reference, threads: cores)
    let cores = self.cores
    for (name, c, f, size, inputGrad) in layers where wants("conv2d", name) {
      var rng = SeededGenerator(seed: 4)
      let n = 64
      let x = try Tensor.uniform([n, c, size, size], in: -1...1, using: &rng, requiresGrad: inputGrad)
      let w = try Tensor.uniform([f, c, 3, 3], in: -0.2...0.2, using: &rng, requiresGrad: true)
      let b = try Tensor.zeros([f], requiresGrad: true)
      let plane = Double((size - 2) * (size - 2)), kdim = Double(c * 9)
      let onePass = 2 * Double(n) * Double(f) * plane * kdim
      let g = try Tensor.uniform([n, f, size - 2, size - 2], in: -1...1, using: &rng)
      // As the training step runs the first two layers: with the ReLU and the 2x2 max pooling fused on.
      let fusedToo = name.hasPrefix("conv1") || name.hasPrefix("conv2")
      let pooled = try Tensor.uniform([n, f, (size - 2) / 2, (size - 2) / 2], in: -1...1, using: &rng)
      var cases: [() throws -> Void] = [
        referenceCase,
        { _ = try x.conv2d(weight: w, bias: b) },
        {
          let y = try x.conv2d(weight: w, bias: b)
          try y.backward(gradient: g.data)
          x.zeroGrad(); w.zeroGrad(); b.zeroGrad()
        },
      ]
      if fusedToo {
        cases.append {
          let y = try x.conv2d(weight: w, bias: b, relu: true, maxPool2x2: true)
          try y.backward(gradient: pooled.data)
          x.zeroGrad(); w.zeroGrad(); b.zeroGrad()
        }
      }
      let t = try measureInterleaved(rounds: quick ? 2 : 5, minTime: 2 * minTime * Double(cases.count), cases)
      let gemmRate = referenceFlops / t[0].median / 1e9
      let flops = onePass * (inputGrad ? 3 : 2)
      add("conv2d-fwd", name, threads: cores, t[1], flops: onePass, extra: ["of_gemm_rate": onePass / t[1].median / 1e9 / gemmRate, "gemm_gflops": gemmRate])
      add("conv2d-fwd-bwd", name, threads: cores, t[2], flops: flops, extra: ["of_gemm_rate": flops / t[2].median / 1e9 / gemmRate, "gemm_gflops": gemmRate])
      if fusedToo {
        add("conv2d+relu+pool-fwd-bwd", name, threads: cores, t[3], flops: flops, extra: ["of_gemm_rate": flops / t[3].median / 1e9 / gemmRate, "gemm_gflops": gemmRate])
      }
    }
  }

  // MARK: - Elementwise

  mutating func elementwise() throws {
    let count = quick ? 1 << 20 : 1 << 22
    var rng = SeededGenerator(seed: 5)
    let a = try Tensor.uniform([count], in: -2...2, using: &rng), b = try Tensor.uniform([count], in: -2...2, using: &rng)
    let shape = "\(count) floats"
    let cases: [(String, Double, () throws -> Tensor)] = [
      ("relu", 8, { a.relu() }), ("sigmoid", 8, { a.sigmoid() }), ("exp", 8, { a.exp() }), ("add", 12, { try a + b }), ("mul-scalar", 8, { a * 3 }),
    ]
    for (name, bytesPerValue, op) in cases where wants(name, shape) {
      add(name, shape, threads: 1, try measure(minTime: minTime) { _ = try op() }, bytes: bytesPerValue * Double(count))
    }
  }

  // MARK: - Training step

  mutating func trainingStep() throws {
    let shape = "CIFAR CNN, batch 64"
    guard wants("train-step", shape) else { return }
    var rng = SeededGenerator(seed: 6)
    let model = try Models.cifarCNN(rng: &rng)  // lesson 6's network
    let optimizer = try Adam(model.parameters, learningRate: 1e-3)
    let x = try Tensor.uniform([64, 3, 32, 32], in: 0...1, using: &rng)
    let labels = (0..<64).map { $0 % 10 }
    // In alternating rounds with the all-core FMA loop, whose rate in the same rounds is the peak the step is
    // compared with (the shared machine's drift weighs on both).
    let iterations = peakIterations
    let t = try measureInterleaved(rounds: quick ? 2 : 5, minTime: 2 * max(minTime, 1), [
      peakOnAllCores,
      {
        optimizer.zeroGrad()
        let loss = try model.forward(x, training: true).softmaxCrossEntropy(labels: labels)
        try loss.backward()
        optimizer.step()
      },
    ])
    let step = t[1], peakNow = Double(iterations) * PeakProbe.flopsPerIteration * Double(cores) / t[0].median / 1e9
    let imagesPerSecond = 64 / step.median
    add("train-step", shape, threads: cores, step, flops: 64 * 26e6, extra: ["images_per_second": imagesPerSecond, "epoch_seconds_50k": 50_000 / imagesPerSecond, "peak_gflops": peakNow])
    try stepBreakdown(model, optimizer, x, labels)
  }

  /// Where a training step's time goes: each layer's forward pass and each operation's backward step, timed
  /// inside the same steps (medians over the repetitions), as "train-step-part" cases.
  mutating func stepBreakdown(_ model: Sequential, _ optimizer: Optimizer, _ x: Tensor, _ labels: [Int]) throws {
    var parts: [String: [Double]] = [:], order: [String] = []
    func record(_ name: String, _ seconds: Double) {
      if parts[name] == nil { order.append(name) }
      parts[name, default: []].append(seconds)
    }
    var backwardTimes: [String: Double] = [:], backwardOrder: [String] = []
    func profile(_ op: String, _ shape: [Int], _ seconds: Double) {
      let name = "\(op) \(shape.map(String.init).joined(separator: "x")) backward"
      if backwardTimes[name] == nil { backwardOrder.append(name) }
      backwardTimes[name, default: 0] += seconds
    }
    let repetitions = quick ? 10 : 30
    for _ in 0..<repetitions {
      backwardTimes = [:]
      optimizer.zeroGrad()
      var h = x
      var i = 0
      while i < model.layers.count {
        // Sequential.forward one step at a time (fused layers as one step).
        let start = DispatchTime.now().uptimeNanoseconds
        let step = try model.forwardStep(at: i, h, training: true), fused = step.layers
        h = step.output
        let name = model.layers[i..<(i + fused)].map(\.kind).joined(separator: "+")
        record("\(i) \(name) \(h.shape.map(String.init).joined(separator: "x")) forward", Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        i += fused
      }
      let loss = try h.softmaxCrossEntropy(labels: labels)
      try loss.backward(profile: profile)
      for name in backwardOrder { record(name, backwardTimes[name] ?? 0) }
      let start = DispatchTime.now().uptimeNanoseconds
      optimizer.step()
      record("optimizer step", Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    let total = order.map { Timing(samples: parts[$0]!).median }.reduce(0, +)
    print("  where a step's time goes (medians, \(String(format: "%.1f", total * 1e3)) ms in all):")
    for name in order {
      let t = Timing(samples: parts[name]!)
      results.append(BenchResult(kernel: "train-step-part", shape: name, threads: cores, samples: t.samples, gflops: nil, gbps: nil, numpy_gflops: nil, extra: nil))
      print(String(format: "    %-40@ %7.3f ms  %4.1f%%", name as NSString, t.median * 1e3, 100 * t.median / total))
    }
  }

  // MARK: - Figure rendering

  mutating func rendering() throws {
    let shape = "800x600 line, 5 x 1000 points"
    guard wants("render", shape) else { return }
    let runs = quick ? 10 : 30
    let mpl = matplotlibLineFigure(runs: runs)
    if mpl == nil { print("  (matplotlib is not available to python3: no rendering reference; pip install matplotlib to add it)") }
    for format in FigureFormat.allCases {
      let t = try measure(minTime: minTime) { _ = try Gallery.line().data(format) }
      let reference = format == .png ? mpl?.png : mpl?.svg
      add("render-\(format.rawValue)", shape, threads: 1, t, extra: reference.map { ["matplotlib_ms": $0 * 1e3, "speedup_vs_matplotlib": $0 / t.median] })
    }
  }

  // MARK: - Summary

  func printSummary(targetOutcomes: [TargetHistory.Outcome], history: TargetHistory, cpu: String) {
    print("\nSummary")
    if peak.one > 0 { print(String(format: "  peak (FMA loop): %.1f GFLOP/s on one core, %.1f on %d", peak.one, peak.all, cores)) }
    for r in results where r.numpy_gflops != nil && r.kernel.hasPrefix("gemm") {
      print(String(format: "  %@ %@ t%d: %.1f GFLOP/s = %.2fx numpy%@", r.kernel, r.shape, r.threads, r.gflops ?? 0, r.ratioToNumpy ?? 0,
                   r.extra?["of_numpy"] != nil ? " (paired rounds)" : ""))
    }
    for r in results where r.kernel == "conv2d-fwd-bwd" || r.kernel == "conv2d+relu+pool-fwd-bwd" {
      if let rate = r.extra?["of_gemm_rate"] {
        print(String(format: "  %@ %@: %.1f GFLOP/s = %.0f%% of our GEMM's rate (%.1f, 1024³ in the same rounds)", r.kernel == "conv2d-fwd-bwd" ? "conv2d fwd+bwd" : "conv2d+relu+pool fwd+bwd", r.shape, r.gflops ?? 0, 100 * rate, r.extra?["gemm_gflops"] ?? 0))
      }
    }
    if let t = results.first(where: { $0.kernel == "train-step" }), let e = t.extra {
      print(String(format: "  CNN training step: %.0f images/s, an epoch of 50,000 images in %.1f s", e["images_per_second"] ?? 0, e["epoch_seconds_50k"] ?? 0))
    }
    printTargets(targetOutcomes, history: history, cpu: cpu)
    for r in results where r.kernel.hasPrefix("render") {
      print(String(format: "  %@: %.1f ms%@", r.kernel, r.median_seconds * 1e3, r.extra.map { String(format: ", %.1fx faster than matplotlib (%.0f ms)", $0["speedup_vs_matplotlib"] ?? 0, $0["matplotlib_ms"] ?? 0) } ?? ""))
    }
  }

  /// Issue #19's targets, each with the measured value and whether this run meets it (a target whose case did
  /// not run is said so).
  /// Issue #19's targets in this run, each with its measured value and whether it holds (nil: its case did
  /// not run).
  func targets() -> [TargetHistory.Outcome] {
    var outcomes: [TargetHistory.Outcome] = []
    func say(_ what: String, _ value: String, _ holds: Bool?) { outcomes.append(.init(target: what, value: value, holds: holds)) }
    if let t = results.first(where: { $0.kernel == "train-step" }), let g = t.gflops, let peak = t.extra?["peak_gflops"] {
      say("training step >= 50% of the \(cores)-core FMA peak", String(format: "%.1f GFLOP/s = %.0f%% of %.0f (the FMA loop in the same rounds)", g, 100 * g / peak, peak), g / peak >= 0.5)
    } else {
      say("training step >= 50% of the \(cores)-core FMA peak", "-", nil)
    }
    for n in [512, 1024, 2048] {
      for (kernel, threads) in [("gemm-blocked", 1), ("gemm-final", cores)] {
        let what = "GEMM \(n) on \(threads) thread\(threads == 1 ? "" : "s") >= 0.95x numpy"
        if let r = results.first(where: { $0.kernel == kernel && $0.shape == "\(n)x\(n)x\(n)" }), let ratio = r.ratioToNumpy {
          say(what, String(format: "%.2fx", ratio), ratio >= 0.95)
        } else {
          say(what, "-", nil)
        }
      }
    }
    for r in results where r.kernel == "conv2d-fwd-bwd" || r.kernel == "conv2d+relu+pool-fwd-bwd" {
      let rate = r.extra?["of_gemm_rate"]
      say("\(r.kernel) \(r.shape) >= 60% of our GEMM rate", rate.map { String(format: "%.0f%%", 100 * $0) } ?? "-", rate.map { $0 >= 0.6 })
    }
    for r in results where ["exp", "log", "sigmoid", "tanh", "gelu", "silu"].contains(r.kernel) && r.extra?["of_relu"] != nil {
      let ratio = r.extra?["of_relu"]
      say("\(r.kernel) >= 1/3 of relu's bandwidth", ratio.map { String(format: "%.2fx", $0) } ?? "-", ratio.map { $0 >= 1.0 / 3 })
    }
    return outcomes
  }

  /// The targets of this run, and for each whether it held in this and the two runs before on this processor
  /// (`history`, this run included: the issue's bar is three runs in a row).
  func printTargets(_ outcomes: [TargetHistory.Outcome], history: TargetHistory, cpu: String) {
    print("  targets (issue #19: each must hold in three full runs in a row; the last column is this and the two runs before, here):")
    func word(_ holds: Bool?) -> String { holds.map { $0 ? "holds" : "misses" } ?? "not measured" }
    for o in outcomes {
      let recent = history.recent(o.target, cpu: cpu)
      let streak = recent.count < 3 ? "only \(recent.count) full run\(recent.count == 1 ? "" : "s") recorded" : recent.map { $0 == true ? "✓" : "✗" }.joined()
      print("    [\(word(o.holds))] \(o.target): \(o.value)   [\(streak)]")
    }
    let measured = outcomes.filter { $0.holds != nil }
    let held = measured.filter { history.heldInARow($0.target, cpu: cpu) }
    print("  \(held.count) of \(measured.count) targets held in the last three full runs on this processor")
  }
}
