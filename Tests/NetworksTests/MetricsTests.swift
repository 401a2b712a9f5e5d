import Networks
import XCTest

/// The metrics against values worked out by hand, ties in the scores included.
final class MetricsTests: XCTestCase {
  // Eight samples, four positive; 0.8 and 0.5 are each shared by a positive and a negative.
  let scores: [Double] = [0.9, 0.8, 0.8, 0.6, 0.5, 0.5, 0.3, 0.1]
  let labels = [1, 1, 0, 1, 0, 1, 0, 0]

  func testConfusionAtAThreshold() {
    let c = BinaryConfusion(scores: scores, labels: labels, threshold: 0.5)  // a score equal to the threshold is positive
    XCTAssertEqual(c, BinaryConfusion(truePositives: 4, falsePositives: 2, trueNegatives: 2, falseNegatives: 0))
    XCTAssertEqual(c.matrix, [[4, 0], [2, 2]])
    XCTAssertEqual(c.precision, 4.0 / 6)
    XCTAssertEqual(c.recall, 1)
    XCTAssertEqual(c.specificity, 0.5)
    XCTAssertEqual(c.falsePositiveRate, 0.5)
    XCTAssertEqual(c.f1, 0.8, accuracy: 1e-15)
    XCTAssertEqual(c.f1, 2 * c.precision * c.recall / (c.precision + c.recall), accuracy: 1e-15)
    XCTAssertEqual(c.accuracy, 0.75)
    XCTAssertEqual(c.cost(falseNegativeCost: 5, falsePositiveCost: 1), 2)
    let d = BinaryConfusion(scores: scores, labels: labels, threshold: 0.55)
    XCTAssertEqual(d, BinaryConfusion(truePositives: 3, falsePositives: 1, trueNegatives: 3, falseNegatives: 1))
    XCTAssertEqual(d.cost(falseNegativeCost: 5, falsePositiveCost: 1), 6)
    XCTAssertEqual([d.precision, d.recall, d.f1, d.specificity], [0.75, 0.75, 0.75, 0.75])
    // Nothing called positive: precision is undefined, not 0 or 1.
    let none = BinaryConfusion(scores: scores, labels: labels, threshold: 2)
    XCTAssert(none.precision.isNaN)
    XCTAssertEqual(none.recall, 0)
    XCTAssertEqual(none.f1, 0)
  }

  func testROCWithTiesIsOneStepPerDistinctScore() {
    let curve = ThresholdCurve(scores: scores, labels: labels)
    XCTAssertEqual(curve.thresholds, [0.9, 0.8, 0.6, 0.5, 0.3, 0.1])
    XCTAssertEqual(curve.truePositives, [0, 1, 2, 3, 4, 4, 4])
    XCTAssertEqual(curve.falsePositives, [0, 0, 1, 1, 2, 3, 4])
    let (fpr, tpr) = curve.roc
    XCTAssertEqual(fpr, [0, 0, 0.25, 0.25, 0.5, 0.75, 1])
    XCTAssertEqual(tpr, [0, 0.25, 0.5, 0.75, 1, 1, 1])
    // Trapezoids: 0.25·(0.25+0.5)/2 + 0.25·(0.75+1)/2 + 0.25 + 0.25 = 13/16; pairs: 13 of 16 won (ties ½).
    XCTAssertEqual(curve.auc, 13.0 / 16, accuracy: 1e-15)
    XCTAssertEqual(Metrics.pairwiseAUC(scores: scores, labels: labels), 13.0 / 16)
    // The order of tied samples does not matter.
    let swapped = ThresholdCurve(scores: [0.9, 0.8, 0.8, 0.6, 0.5, 0.5, 0.3, 0.1], labels: [1, 0, 1, 1, 1, 0, 0, 0])
    XCTAssertEqual(swapped.auc, curve.auc, accuracy: 1e-15)
    // All scores equal: the diagonal, 0.5.
    XCTAssertEqual(ThresholdCurve(scores: [1, 1, 1, 1], labels: [1, 0, 0, 1]).auc, 0.5)
    XCTAssertEqual(ThresholdCurve(scores: [3, 2, 1], labels: [1, 1, 0]).auc, 1)
    XCTAssertEqual(ThresholdCurve(scores: [1, 2, 3], labels: [1, 1, 0]).auc, 0)
  }

  func testAverageIsAStepSumOverRecall() {
    let curve = ThresholdCurve(scores: scores, labels: labels)
    let (p, r) = curve.precisionRecall
    XCTAssertEqual(p, [1, 2.0 / 3, 0.75, 4.0 / 6, 4.0 / 7, 0.5])
    XCTAssertEqual(r, [0.25, 0.5, 0.75, 1, 1, 1])
    // 0.25·(1 + 2/3 + 3/4 + 2/3) = 37/48, the value of scikit-learn's average_precision_score.
    XCTAssertEqual(curve.averagePrecision, 37.0 / 48, accuracy: 1e-15)
    // One tie of a positive and a negative at the top: a single point of precision ½.
    XCTAssertEqual(ThresholdCurve(scores: [1, 1, 0], labels: [1, 0, 0]).averagePrecision, 0.5)
    XCTAssert(ThresholdCurve(scores: [1, 0], labels: [0, 0]).averagePrecision.isNaN)
  }

  func testRandomScoresAgreeWithThePairwiseDefinition() {
    var state: UInt64 = 12345
    func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state >> 33 }
    for _ in 0..<20 {
      let n = 5 + Int(next() % 60)
      // Scores on a coarse grid so that ties are common.
      let s = (0..<n).map { _ in Double(next() % 7) / 6 }
      var y = (0..<n).map { _ in Int(next() % 2) }
      y[0] = 1; y[1] = 0
      let curve = ThresholdCurve(scores: s, labels: y)
      XCTAssertEqual(curve.auc, Metrics.pairwiseAUC(scores: s, labels: y), accuracy: 1e-12)
      // AP by its definition over the samples: the mean, over positives, of the precision at that positive's
      // score (ties: all samples scoring at least as high count).
      let positives = s.indices.filter { y[$0] == 1 }
      let ap = positives.map { i -> Double in
        let above = s.indices.filter { s[$0] >= s[i] }
        return Double(above.filter { y[$0] == 1 }.count) / Double(above.count)
      }.reduce(0, +) / Double(positives.count)
      XCTAssertEqual(curve.averagePrecision, ap, accuracy: 1e-12)
    }
  }

  func testCalibrationBins() {
    let bins = Metrics.calibration(probabilities: [0.05, 0.15, 0.12, 0.95, 1.0, 0.5], labels: [0, 1, 0, 1, 1, 0], bins: 4)
    XCTAssertEqual(bins.map(\.count), [3, 0, 1, 2])
    XCTAssertEqual(bins[0].meanPrediction, 0.32 / 3, accuracy: 1e-15)
    XCTAssertEqual(bins[0].fractionPositive, 1.0 / 3, accuracy: 1e-15)
    XCTAssert(bins[1].meanPrediction.isNaN && bins[1].fractionPositive.isNaN)
    XCTAssertEqual(bins[2].lower, 0.5)  // 0.5 opens the third bin
    XCTAssertEqual(bins[2].fractionPositive, 0)
    XCTAssertEqual(bins[3].meanPrediction, 0.975, accuracy: 1e-15)  // 1.0 falls in the last bin
    // ECE: ½·|1/3 − 0.32/3| + ⅙·0.5 + ⅓·0.025.
    XCTAssertEqual(Metrics.expectedCalibrationError(bins), 0.205, accuracy: 1e-12)
  }

  func testMulticlassPerClassMacroAndMicro() {
    let c = MulticlassConfusion(predicted: [0, 0, 1, 1, 2, 2, 2, 2, 2], actual: [0, 0, 0, 1, 1, 2, 2, 2, 2], classes: 3)
    XCTAssertEqual(c.counts, [[2, 1, 0], [0, 1, 1], [0, 0, 4]])
    XCTAssertEqual(c.precision, [1, 0.5, 0.8])
    XCTAssertEqual(c.recall[0], 2.0 / 3, accuracy: 1e-15)
    XCTAssertEqual(c.recall[1], 0.5)
    XCTAssertEqual(c.recall[2], 1)
    XCTAssertEqual(c.f1[0], 0.8, accuracy: 1e-15)
    XCTAssertEqual(c.f1[2], 8.0 / 9, accuracy: 1e-15)
    XCTAssertEqual(c.macro.precision, 2.3 / 3, accuracy: 1e-15)
    XCTAssertEqual(c.macro.recall, (2.0 / 3 + 1.5) / 3, accuracy: 1e-15)
    XCTAssertEqual(c.macro.f1, (0.8 + 0.5 + 8.0 / 9) / 3, accuracy: 1e-15)
    for v in [c.micro.precision, c.micro.recall, c.micro.f1] { XCTAssertEqual(v, 7.0 / 9, accuracy: 1e-15) }
    XCTAssertEqual(c.accuracy, 7.0 / 9, accuracy: 1e-15)
    // A class never predicted and never present: precision and recall undefined, counted as 0 in the macro mean.
    let d = MulticlassConfusion(predicted: [0, 1], actual: [0, 1], classes: 3)
    XCTAssert(d.precision[2].isNaN)
    XCTAssertEqual(d.macro.precision, 2.0 / 3, accuracy: 1e-15)
  }
}
