import Kernels
import Tensors
import XCTest

/// Batch normalisation and label smoothing: gradients against the numerical check, values against formulas
/// computed here in Double, and bad input refused.
final class NormalizationTests: XCTestCase {
  var rng = SeededGenerator(seed: 7)

  func values(_ shape: [Int], requiresGrad: Bool = true) -> Tensor {
    try! Tensor.uniform(shape, in: -2...2, using: &rng, requiresGrad: requiresGrad)
  }

  func testBatchNormGradientsInTrainingAndEvaluation() throws {
    // 4 images, 3 channels, 5x5 planes (the plane is not a multiple of 16: the vector loops' tails run).
    for training in [true, false] {
      let mean = try Tensor([0.1, -0.2, 0.3]), variance = try Tensor([1.5, 0.5, 2.0])
      let result = try GradientCheck.run([values([4, 3, 5, 5]), values([3]), values([3])], h: 1e-2) {
        try $0[0].batchNorm(scale: $0[1], shift: $0[2], runningMean: mean, runningVariance: variance, training: training, momentum: 0)
      }
      XCTAssertLessThan(result.maxError, 2e-3, "training \(training): \(result.worst.map { "\($0)" } ?? "")")
    }
    // A [batch, features] input, and one with 20x20 planes (whole vectors).
    for shape in [[6, 4], [2, 2, 20, 20]] {
      let c = shape[1]
      let mean = try Tensor.zeros([c]), variance = try Tensor.ones([c])
      let result = try GradientCheck.run([values(shape), values([c])], h: 1e-2) {
        try $0[0].batchNorm(scale: nil, shift: $0[1], runningMean: mean, runningVariance: variance, training: true, momentum: 0)
      }
      XCTAssertLessThan(result.maxError, 2e-3, "\(shape): \(result.worst.map { "\($0)" } ?? "")")
    }
  }

  func testBatchNormValuesAndRunningStatistics() throws {
    let x = values([3, 2, 4, 4], requiresGrad: false)
    let runningMean = try Tensor([1, 1]), runningVariance = try Tensor([1, 1])
    let y = try x.batchNorm(scale: Tensor([2, 3]), shift: Tensor([0.5, -1]), runningMean: runningMean, runningVariance: runningVariance, training: true, momentum: 0.25, epsilon: 1e-5)
    for ch in 0..<2 {
      var v: [Double] = []
      for i in 0..<3 { for k in 0..<16 { v.append(Double(x.data[(i * 2 + ch) * 16 + k])) } }
      let mu = v.reduce(0, +) / 48, variance = v.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / 48
      let (gamma, beta) = ch == 0 ? (2.0, 0.5) : (3.0, -1.0)
      for i in 0..<3 {
        for k in 0..<16 {
          let at = (i * 2 + ch) * 16 + k
          let expected = gamma * (Double(x.data[at]) - mu) / (variance + 1e-5).squareRoot() + beta
          XCTAssertEqual(Double(y.data[at]), expected, accuracy: 1e-4)
        }
      }
      // r <- 0.75 r + 0.25 b, with the unbiased variance.
      XCTAssertEqual(Double(runningMean.data[ch]), 0.75 + 0.25 * mu, accuracy: 1e-5)
      XCTAssertEqual(Double(runningVariance.data[ch]), 0.75 + 0.25 * variance * 48 / 47, accuracy: 1e-5)
    }
    // Evaluation mode uses the running statistics and leaves them alone.
    let before = runningMean.data + runningVariance.data
    let z = try x.batchNorm(scale: nil, shift: nil, runningMean: runningMean, runningVariance: runningVariance, training: false)
    XCTAssertEqual(runningMean.data + runningVariance.data, before)
    XCTAssertEqual(Double(z.data[0]), (Double(x.data[0]) - Double(runningMean.data[0])) / (Double(runningVariance.data[0]) + 1e-5).squareRoot(), accuracy: 1e-5)
  }

  func testBatchNormRefusesBadInput() throws {
    let stats = try Tensor.zeros([3])
    let cases: [(() throws -> Tensor, String)] = [
      ({ try Tensor.zeros([2, 3, 4]).batchNorm(scale: nil, shift: nil, runningMean: stats, runningVariance: stats, training: true) }, "must be [batch, channels]"),
      ({ try Tensor.zeros([2, 4, 2, 2]).batchNorm(scale: nil, shift: nil, runningMean: stats, runningVariance: stats, training: true) }, "do not match"),
      ({ try Tensor.zeros([1, 3]).batchNorm(scale: nil, shift: nil, runningMean: stats, runningVariance: stats, training: true) }, "at least 2 values"),
      ({ try Tensor.zeros([2, 3]).batchNorm(scale: nil, shift: nil, runningMean: stats, runningVariance: stats, training: true, momentum: 2) }, "momentum"),
      ({ try Tensor.zeros([2, 3]).batchNorm(scale: nil, shift: nil, runningMean: stats, runningVariance: stats, training: true, epsilon: 0) }, "epsilon"),
    ]
    for (f, message) in cases {
      XCTAssertThrowsError(try f()) { XCTAssertTrue("\($0)".contains(message), "\($0)") }
    }
  }

  /// The same bits with 1 and 2 threads (each channel is summed on one thread in a fixed order).
  func testBatchNormDoesNotDependOnThreads() throws {
    let x = values([8, 4, 9, 9])
    func run() throws -> [Float] {
      x.zeroGrad()
      let y = try x.batchNorm(scale: nil, shift: nil, runningMean: Tensor.zeros([4]), runningVariance: Tensor.ones([4]), training: true)
      try (y * y).sum().backward()
      return y.data + x.grad!
    }
    let two = try KernelSettings.withThreads(2) { try run() }
    let one = try KernelSettings.withThreads(1) { try run() }
    XCTAssertEqual(one, two)
  }

  func testLabelSmoothing() throws {
    let logits = values([3, 4])
    let labels = [0, 3, 1]
    let result = try GradientCheck.run([logits]) { try $0[0].softmaxCrossEntropy(labels: labels, labelSmoothing: 0.2) }
    XCTAssertLessThan(result.maxError, 1e-3)
    // The loss against the smoothed target 0.8 one-hot + 0.05 written out.
    let loss = try logits.softmaxCrossEntropy(labels: labels, labelSmoothing: 0.2).item
    var expected = 0.0
    for r in 0..<3 {
      let z = (0..<4).map { Double(logits.data[r * 4 + $0]) }
      let lse = Foundation.log(z.map(Foundation.exp).reduce(0, +))
      for c in 0..<4 { expected += ((c == labels[r] ? 0.8 : 0) + 0.05) * (lse - z[c]) }
    }
    XCTAssertEqual(Double(loss), expected / 3, accuracy: 1e-5)
    // Without smoothing, the same value as before.
    XCTAssertEqual(try logits.softmaxCrossEntropy(labels: labels, labelSmoothing: 0).item, try logits.softmaxCrossEntropy(labels: labels).item)
    XCTAssertThrowsError(try logits.softmaxCrossEntropy(labels: labels, labelSmoothing: 1)) { XCTAssertTrue("\($0)".contains("label smoothing")) }
  }
}

import Foundation
