import Foundation

// Metrics of a classifier from its scores and the true labels: the confusion matrix at a threshold and what
// follows from it (precision, recall, specificity, F1), the ROC and precision-recall curves with their
// areas, calibration bins, and the multi-class confusion matrix with per-class, macro and micro averages.
// Plain arrays of Double in, numbers out: the same definitions as scikit-learn's, ties included.

/// The four counts of a binary classifier at one threshold: a sample is predicted positive when its score is
/// at least the threshold.
public struct BinaryConfusion: Equatable, Sendable {
  /// Positives predicted positive, negatives predicted positive, negatives predicted negative, positives
  /// predicted negative.
  public var truePositives = 0, falsePositives = 0, trueNegatives = 0, falseNegatives = 0

  public init(truePositives: Int, falsePositives: Int, trueNegatives: Int, falseNegatives: Int) {
    self.truePositives = truePositives
    self.falsePositives = falsePositives
    self.trueNegatives = trueNegatives
    self.falseNegatives = falseNegatives
  }

  /// Counts `scores` (any real numbers) against `labels` (1 = positive, 0 = negative) at `threshold`.
  public init(scores: [Double], labels: [Int], threshold: Double) {
    precondition(scores.count == labels.count, "scores and labels must have the same length")
    for (s, y) in zip(scores, labels) {
      switch (s >= threshold, y == 1) {
      case (true, true): truePositives += 1
      case (true, false): falsePositives += 1
      case (false, false): trueNegatives += 1
      case (false, true): falseNegatives += 1
      }
    }
  }

  public var count: Int { truePositives + falsePositives + trueNegatives + falseNegatives }
  /// (TP + TN) / all.
  public var accuracy: Double { ratio(truePositives + trueNegatives, count) }
  /// TP / (TP + FP): of the samples called positive, the fraction that are. NaN when none is called positive.
  public var precision: Double { ratio(truePositives, truePositives + falsePositives) }
  /// TP / (TP + FN), the true-positive rate or sensitivity: of the positives, the fraction found. NaN
  /// without positives.
  public var recall: Double { ratio(truePositives, truePositives + falseNegatives) }
  /// TN / (TN + FP), the true-negative rate: of the negatives, the fraction called negative.
  public var specificity: Double { ratio(trueNegatives, trueNegatives + falsePositives) }
  /// FP / (FP + TN) = 1 - specificity.
  public var falsePositiveRate: Double { ratio(falsePositives, falsePositives + trueNegatives) }
  /// The harmonic mean of precision and recall, 2TP / (2TP + FP + FN); NaN when there are no positives
  /// and none is predicted.
  public var f1: Double { ratio(2 * truePositives, 2 * truePositives + falsePositives + falseNegatives) }
  /// The cost of the errors when a false negative costs `falseNegativeCost` and a false positive
  /// `falsePositiveCost`.
  public func cost(falseNegativeCost: Double, falsePositiveCost: Double) -> Double {
    falseNegativeCost * Double(falseNegatives) + falsePositiveCost * Double(falsePositives)
  }
  /// The matrix as rows of true class, columns of predicted class, positive first: [[TP, FN], [FP, TN]].
  public var matrix: [[Int]] { [[truePositives, falseNegatives], [falsePositives, trueNegatives]] }

  private func ratio(_ a: Int, _ b: Int) -> Double { b == 0 ? .nan : Double(a) / Double(b) }
}

/// A curve traced by sweeping the threshold from above the highest score down through every distinct score.
/// Samples with equal scores cross the threshold together, so a tie makes one step (a diagonal segment of
/// the ROC curve), never an order-dependent staircase.
public struct ThresholdCurve: Equatable, Sendable {
  /// The distinct scores in decreasing order: point k (k >= 1) is the classifier that calls positive every
  /// sample scoring at least thresholds[k - 1]. Point 0 calls nothing positive.
  public var thresholds: [Double]
  /// Cumulative true and false positives at each point (point 0: zeros).
  public var truePositives: [Int], falsePositives: [Int]
  public var positives: Int, negatives: Int

  /// Sorts `scores` once and accumulates the counts at each distinct score; `labels` are 1 (positive) or 0.
  public init(scores: [Double], labels: [Int]) {
    precondition(scores.count == labels.count, "scores and labels must have the same length")
    precondition(scores.allSatisfy { !$0.isNaN }, "scores must not be NaN")
    let order = scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
    thresholds = []
    truePositives = [0]
    falsePositives = [0]
    var tp = 0, fp = 0
    for (k, i) in order.enumerated() {
      if labels[i] == 1 { tp += 1 } else { fp += 1 }
      // Close a point only after the last sample of a run of equal scores.
      if k + 1 == order.count || scores[order[k + 1]] != scores[i] {
        thresholds.append(scores[i])
        truePositives.append(tp)
        falsePositives.append(fp)
      }
    }
    positives = tp
    negatives = fp
  }

  /// The ROC curve's points: false-positive rate (x) and true-positive rate (y), from (0, 0) to (1, 1).
  /// Undefined (NaN) without both classes.
  public var roc: (fpr: [Double], tpr: [Double]) {
    (falsePositives.map { Double($0) / Double(negatives) }, truePositives.map { Double($0) / Double(positives) })
  }

  /// The area under the ROC curve by the trapezoid rule over its points. With ties handled as one step it
  /// equals the Mann-Whitney probability that a random positive scores above a random negative, ties
  /// counting one half.
  public var auc: Double {
    let (x, y) = roc
    var area = 0.0
    for k in 1..<x.count { area += (x[k] - x[k - 1]) * (y[k] + y[k - 1]) / 2 }
    return area
  }

  /// The precision-recall curve's points, one per distinct threshold (point 0, where nothing is called
  /// positive, has no precision and is left out): recall rises, precision is TP / (TP + FP).
  public var precisionRecall: (precision: [Double], recall: [Double]) {
    let p = (1..<truePositives.count).map { Double(truePositives[$0]) / Double(truePositives[$0] + falsePositives[$0]) }
    let r = (1..<truePositives.count).map { Double(truePositives[$0]) / Double(positives) }
    return (p, r)
  }

  /// Average precision, scikit-learn's `average_precision_score`: the precision at each threshold weighted
  /// by the recall gained there, AP = Σₖ (Rₖ − Rₖ₋₁) Pₖ, starting from R₀ = 0. A step-wise sum, not the
  /// trapezoid (which interpolates precision linearly and overstates it). NaN without positives.
  public var averagePrecision: Double {
    let (p, r) = precisionRecall
    var ap = 0.0, previous = 0.0
    for k in r.indices {
      ap += (r[k] - previous) * p[k]
      previous = r[k]
    }
    return positives == 0 ? .nan : ap
  }
}

/// One bin of a reliability diagram.
public struct CalibrationBin: Equatable, Sendable {
  /// The bin's range of predicted probabilities, [lower, upper) (the last bin includes 1).
  public var lower: Double, upper: Double
  public var count: Int
  /// The mean predicted probability and the fraction of positives among the bin's samples (NaN when empty).
  public var meanPrediction: Double, fractionPositive: Double
}

/// Metrics that need more than one threshold's counts.
public enum Metrics {
  /// The Mann-Whitney probability that a random positive outscores a random negative (ties count one
  /// half), by comparing every pair: O(n²), the definition the ROC area must equal (for tests and teaching).
  public static func pairwiseAUC(scores: [Double], labels: [Int]) -> Double {
    let pos = zip(scores, labels).filter { $0.1 == 1 }.map(\.0), neg = zip(scores, labels).filter { $0.1 != 1 }.map(\.0)
    var wins = 0.0
    for p in pos { for n in neg { wins += p > n ? 1 : (p == n ? 0.5 : 0) } }
    return wins / Double(pos.count * neg.count)
  }

  /// Reliability bins: predicted probabilities cut into `bins` equal-width bins over [0, 1]; each bin's mean
  /// prediction against its fraction of positives. A calibrated model's points lie on the diagonal.
  public static func calibration(probabilities: [Double], labels: [Int], bins: Int) -> [CalibrationBin] {
    precondition(bins >= 1 && probabilities.count == labels.count)
    var sums = [Double](repeating: 0, count: bins), hits = [Int](repeating: 0, count: bins), counts = [Int](repeating: 0, count: bins)
    for (p, y) in zip(probabilities, labels) {
      let b = min(bins - 1, max(0, Int((p * Double(bins)).rounded(.down))))
      sums[b] += p
      counts[b] += 1
      if y == 1 { hits[b] += 1 }
    }
    return (0..<bins).map { b in
      CalibrationBin(
        lower: Double(b) / Double(bins), upper: Double(b + 1) / Double(bins), count: counts[b],
        meanPrediction: counts[b] == 0 ? .nan : sums[b] / Double(counts[b]),
        fractionPositive: counts[b] == 0 ? .nan : Double(hits[b]) / Double(counts[b]))
    }
  }

  /// The expected calibration error: the bins' gaps |fraction positive − mean prediction| weighted by the
  /// share of samples in each bin.
  public static func expectedCalibrationError(_ bins: [CalibrationBin]) -> Double {
    let total = bins.reduce(0) { $0 + $1.count }
    return bins.filter { $0.count > 0 }.reduce(0.0) { $0 + Double($1.count) / Double(total) * abs($1.fractionPositive - $1.meanPrediction) }
  }
}

/// The confusion matrix of a classifier over `classes` classes: `counts[t][p]` samples of true class t were
/// predicted as p. Per class c, "positive" means "is c": TP = counts[c][c], FP = the rest of column c, FN =
/// the rest of row c.
public struct MulticlassConfusion: Equatable, Sendable {
  public var counts: [[Int]]
  public var classes: Int { counts.count }

  public init(predicted: [Int], actual: [Int], classes: Int) {
    precondition(predicted.count == actual.count, "predicted and actual must have the same length")
    counts = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
    for (p, t) in zip(predicted, actual) { counts[t][p] += 1 }
  }

  public var total: Int { counts.reduce(0) { $0 + $1.reduce(0, +) } }
  public var accuracy: Double { Double((0..<classes).reduce(0) { $0 + counts[$1][$1] }) / Double(total) }
  /// Class c against the rest, as binary counts.
  public func oneVersusRest(_ c: Int) -> BinaryConfusion {
    let tp = counts[c][c]
    let fn = counts[c].reduce(0, +) - tp
    let fp = (0..<classes).reduce(0) { $0 + counts[$1][c] } - tp
    return BinaryConfusion(truePositives: tp, falsePositives: fp, trueNegatives: total - tp - fn - fp, falseNegatives: fn)
  }
  public var precision: [Double] { (0..<classes).map { oneVersusRest($0).precision } }
  public var recall: [Double] { (0..<classes).map { oneVersusRest($0).recall } }
  public var f1: [Double] { (0..<classes).map { oneVersusRest($0).f1 } }

  /// Macro averages: the plain mean over classes of each class's precision, recall and F1 (every class
  /// counts the same, however many samples it has). A class that is never predicted has precision 0 here,
  /// as in scikit-learn with `zero_division=0`.
  public var macro: (precision: Double, recall: Double, f1: Double) {
    func mean(_ v: [Double]) -> Double { v.map { $0.isNaN ? 0 : $0 }.reduce(0, +) / Double(classes) }
    return (mean(precision), mean(recall), mean(f1))
  }

  /// Micro averages: precision, recall and F1 of the TP, FP and FN summed over all classes (every sample
  /// counts the same). With one label per sample, every mistake is one FP and one FN, so all three equal the
  /// accuracy.
  public var micro: (precision: Double, recall: Double, f1: Double) {
    let sum = (0..<classes).map(oneVersusRest).reduce(BinaryConfusion(truePositives: 0, falsePositives: 0, trueNegatives: 0, falseNegatives: 0)) {
      BinaryConfusion(truePositives: $0.truePositives + $1.truePositives, falsePositives: $0.falsePositives + $1.falsePositives, trueNegatives: $0.trueNegatives + $1.trueNegatives, falseNegatives: $0.falseNegatives + $1.falseNegatives)
    }
    return (sum.precision, sum.recall, sum.f1)
  }
}
