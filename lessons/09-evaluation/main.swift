// Lesson 9: evaluating a classifier. A small network scores tumours as malignant or benign; the lesson measures
// it at a threshold chosen for the cost of each error, across all thresholds (ROC, precision-recall), on an
// imbalanced test set (the accuracy paradox), for calibration, and then class by class on the digits.
import ArgumentParser
import Datasets
import Foundation
import LessonKit
import Networks
import PackageInfo
import Plotting
import Tensors

@main
struct EvaluationLesson: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "09-evaluation",
    abstract: "Lesson 9: evaluating a classifier: confusion matrix, precision, recall, F1, ROC and precision-recall curves, the accuracy paradox, calibration, and per-class metrics on the digits.",
    discussion: "The data: --data FILE (default data/breast_cancer.csv) and --digits FILE (default data/digits.csv); make data puts both there. The test set's scores go to scores.csv (score = the network's probability of malignant, label 1 = malignant) for checking every number with another tool.",
    version: NeuralLessons.version)

  @OptionGroup var options: LessonOptions

  @Option(name: .long, help: ArgumentHelp("The breast-cancer table (default: data/breast_cancer.csv).", valueName: "file"))
  var data: String?

  @Option(name: .long, help: ArgumentHelp("The digits CSV for the multi-class part (default: data/digits.csv, or $DIGITS_CSV).", valueName: "file"))
  var digits: String?

  @Option(name: .long, help: "How many times a missed malignant tumour (false negative) costs more than a false alarm (false positive); sets the threshold.")
  var costRatio: Double = 5

  @Option(name: .long, help: "Epochs on the tumours (default: 100, or 30 with --quick).")
  var epochs: Int?

  @Option(name: .long, help: "Learning rate (Adam).")
  var lr: Float = 0.01

  @Option(name: .long, help: "Hidden units of the tumour network (default 0: logistic regression, one sigmoid neuron as in lesson 1).")
  var hidden: Int = 0

  func validate() throws {
    try LessonOptions.checkPositive(costRatio, "--cost-ratio")
    try LessonOptions.checkAtLeast(epochs, "--epochs")
    try LessonOptions.checkPositive(lr, "--lr")
    guard hidden >= 0 else { throw ValidationError("--hidden must be 0 or more, got \(hidden)") }
  }

  func run() throws {
    // The data first: a missing or bad file stops the lesson before it writes anything.
    let table = try BreastCancer.load(path: data ?? BreastCancer.defaultPath)
    let digitsPath = Digits.locate(digits)
    guard FileManager.default.fileExists(atPath: digitsPath) else {
      throw LessonError("\(digitsPath) not found: run make data (or pass --digits FILE)")
    }
    let digitSet = try Digits.load(csv: digitsPath)
    guard table.labels.contains(0), table.labels.contains(1) else {
      throw LessonError("\(data ?? BreastCancer.defaultPath): all tumours have the same label; the lesson needs both classes")
    }
    let lesson = try Lesson(name: "09-evaluation", options: options)
    let epochs = self.epochs ?? (options.quick ? 30 : 100)

    // MARK: Positive = malignant; a stratified train/validation/test split; standardised features
    // The file says 0 = malignant, 1 = benign. The disease is what we look for, so "positive" is malignant:
    // y = 1 for malignant, and the network's score is its probability of malignant.
    let y = table.labels.map { 1 - $0 }
    let parts = stratifiedSplit(y, fractions: [0.6, 0.2, 0.2], seed: lesson.seed(1))
    let (trainIdx, validIdx, testIdx) = (parts[0], parts[1], parts[2])
    let d = table.featureCount
    var mean = [Double](repeating: 0, count: d), std = [Double](repeating: 0, count: d)
    for i in trainIdx { for j in 0..<d { mean[j] += table.features[i * d + j] } }
    mean = mean.map { $0 / Double(trainIdx.count) }
    for i in trainIdx { for j in 0..<d { std[j] += pow(table.features[i * d + j] - mean[j], 2) } }
    std = std.map { $0 > 0 ? ($0 / Double(trainIdx.count)).squareRoot() : 1 }
    func inputs(_ idx: [Int]) throws -> Tensor {
      try Tensor(idx.flatMap { i in (0..<d).map { j in Float((table.features[i * d + j] - mean[j]) / std[j]) } }, shape: [idx.count, d])
    }
    func targets(_ idx: [Int]) throws -> Tensor { try Tensor(idx.map { Float(y[$0]) }, shape: [idx.count, 1]) }
    let count = { (idx: [Int]) in idx.filter { y[$0] == 1 }.count }
    lesson.say("Tumours: \(table.count) (\(y.filter { $0 == 1 }.count) malignant = positive); split \(trainIdx.count) train (\(count(trainIdx)) malignant), \(validIdx.count) validation (\(count(validIdx))), \(testIdx.count) test (\(count(testIdx)))")

    // MARK: The network
    var rng = SeededGenerator(seed: lesson.seed(2))
    let layers: [Layer] = hidden == 0
      ? [try Dense(d, 1, initializer: .xavierUniform, rng: &rng)]
      : [try Dense(d, hidden, initializer: .heNormal, rng: &rng), Activation(.relu), try Dense(hidden, 1, initializer: .xavierUniform, rng: &rng)]
    let model = Sequential(layers)
    let trainer = Trainer(
      loss: .binaryCrossEntropyWithLogits, optimizer: try Adam(model.parameters, learningRate: lr), epochs: epochs, batchSize: 32,
      seed: lesson.seed(3), progress: ProgressPrinter(every: max(1, epochs / 5)))
    lesson.say("Training a \(hidden == 0 ? "logistic regression (30 inputs, 1 output)" : "30-\(hidden)-1 ReLU network") on the tumours (\(epochs) epochs)")
    let history = try trainer.fit(model, x: try inputs(trainIdx), y: try targets(trainIdx), validation: (try inputs(validIdx), try targets(validIdx)))
    func probabilities(_ idx: [Int]) throws -> [Double] {
      try Tensor.withoutGrad { try model(try inputs(idx)).sigmoid().data.map(Double.init) }
    }
    let validScores = try probabilities(validIdx), validLabels = validIdx.map { y[$0] }
    let scores = try probabilities(testIdx), labels = testIdx.map { y[$0] }

    // MARK: The threshold, chosen on validation for the cost of errors
    let grid = (1...99).map { Double($0) / 100 }
    let validCost = grid.map { BinaryConfusion(scores: validScores, labels: validLabels, threshold: $0).cost(falseNegativeCost: costRatio, falsePositiveCost: 1) }
    let bayes = 1 / (1 + costRatio)
    let lowest = validCost.min()!
    let threshold = grid.indices.filter { validCost[$0] == lowest }.min { abs(grid[$0] - bayes) < abs(grid[$1] - bayes) }.map { grid[$0] }!
    lesson.say(String(format: "Threshold %.2f: lowest validation cost %.0f (a missed malignant tumour costs %g false alarms; the cost-optimal threshold for calibrated probabilities is 1/(1+%g) = %.3f)", threshold, lowest, costRatio, costRatio, bayes))

    // MARK: The test set at that threshold and at 0.5
    let atT = BinaryConfusion(scores: scores, labels: labels, threshold: threshold)
    let atHalf = BinaryConfusion(scores: scores, labels: labels, threshold: 0.5)
    let curve = ThresholdCurve(scores: scores, labels: labels)
    let auc = curve.auc, ap = curve.averagePrecision
    let wrongF1 = 2 * atT.accuracy * atT.recall / (atT.accuracy + atT.recall)
    lesson.say(String(format: "Test at %.2f: TP %d, FP %d, TN %d, FN %d; precision %.3f, recall %.3f, F1 %.3f, specificity %.3f, accuracy %.3f; AUC %.4f, AP %.4f",
      threshold, atT.truePositives, atT.falsePositives, atT.trueNegatives, atT.falseNegatives, atT.precision, atT.recall, atT.f1, atT.specificity, atT.accuracy, auc, ap))
    try writeScores(scores, labels, to: lesson.folder + "/scores.csv")
    lesson.say("  scores.csv: \(scores.count) test scores (probability of malignant) and labels (1 = malignant)")

    // figure: confusion-matrices
    let names = ["malignant", "benign"]
    let cm = Figure(width: 980, height: 430, columns: 2, title: "Confusion matrices on the \(labels.count) test tumours (rows: truth; positive = malignant)")
    for (k, (c, t)) in [(atHalf, 0.5), (atT, threshold)].enumerated() {
      let ax = cm.axes(0, k)
      ax.title = String(format: "threshold %.2f: ", t) + plural(c.falseNegatives, "missed tumour") + ", " + plural(c.falsePositives, "false alarm")
      ax.xLabel = "predicted"
      ax.yLabel = "true"
      ax.matrix(c.matrix.map { $0.map(Double.init) }, rowLabels: names, columnLabels: names, range: 0...Double(max(1, labels.count - count(testIdx))))
    }
    try lesson.save(cm, as: "confusion-matrices")
    // end figure

    // MARK: Sweeping the threshold
    // figure: threshold-sweep
    let sweep = Figure(width: 1100, height: 440, columns: 2, title: "Moving the threshold: what it costs on validation, and the metrics on test")
    let costAxes = sweep.axes(0, 0), metricAxes = sweep.axes(0, 1)
    costAxes.title = String(format: "validation cost = %g · FN + FP", costRatio)
    costAxes.xLabel = "threshold (call malignant when score ≥ threshold)"
    costAxes.yLabel = "cost"
    costAxes.line(grid, validCost, label: "cost", color: Palette.color(0))
    costAxes.verticalLine(at: threshold, label: String(format: "chosen: %.2f", threshold), color: .ink)
    costAxes.legend = .upperCenter
    let fine = (0...200).map { Double($0) / 200 }
    let sweeps = fine.map { BinaryConfusion(scores: scores, labels: labels, threshold: $0) }
    // Precision is undefined where nothing is called positive: its line stops there.
    let defined = fine.indices.filter { !sweeps[$0].precision.isNaN }
    metricAxes.title = "test metrics against the threshold (y axis from 0.5)"
    metricAxes.xLabel = "threshold"
    metricAxes.yLabel = "value"
    metricAxes.line(defined.map { fine[$0] }, defined.map { sweeps[$0].precision }, label: "precision", color: Palette.color(0))
    metricAxes.line(fine, sweeps.map(\.recall), label: "recall", color: Palette.color(1))
    metricAxes.line(defined.map { fine[$0] }, defined.map { sweeps[$0].f1 }, label: "F1", color: Palette.color(2), dash: .dashed)
    metricAxes.line(fine, sweeps.map(\.specificity), label: "specificity", color: Palette.color(3), dash: .dotted)
    metricAxes.verticalLine(at: threshold, color: .ink)
    metricAxes.yLimits = 0.5...1.01
    metricAxes.legend = .lowerCenter
    try lesson.save(sweep, as: "threshold-sweep")
    // end figure

    // MARK: ROC and precision-recall curves
    let (fpr, tpr) = curve.roc
    let (precisions, recalls) = curve.precisionRecall
    let prevalence = Double(curve.positives) / Double(labels.count)
    // For comparison, one raw measurement as the score: any number that ranks the tumours has an ROC curve.
    let singleFeature = 1, singleName = BreastCancer.featureNames[singleFeature]
    let singleCurve = ThresholdCurve(scores: testIdx.map { table.features[$0 * d + singleFeature] }, labels: labels)
    let (singlePrecisions, singleRecalls) = singleCurve.precisionRecall
    // figure: roc-pr
    let rp = Figure(width: 1050, height: 480, columns: 2, title: "Every threshold at once, on the test set")
    let roc = rp.axes(0, 0), pr = rp.axes(0, 1)
    roc.title = String(format: "ROC curve: AUC = %.3f", auc)
    roc.xLabel = "false-positive rate (1 − specificity)"
    roc.yLabel = "true-positive rate (recall)"
    roc.line([0, 1], [0, 1], label: "chance (AUC 0.5)", color: .mutedInk, width: 1.2, dash: .dashed)
    roc.line(fpr, tpr, label: "the network", color: Palette.color(0))
    roc.line(singleCurve.roc.fpr, singleCurve.roc.tpr, label: String(format: "%@ alone: AUC %.3f", singleName, singleCurve.auc), color: Palette.color(2), dash: .dashDot)
    roc.scatter([atT.falsePositiveRate], [atT.recall], label: String(format: "threshold %.2f", threshold), color: Palette.color(1), size: 10)
    roc.xLimits = -0.02...1.02
    roc.yLimits = -0.02...1.02
    roc.legend = .lowerRight
    pr.title = String(format: "precision-recall: average precision = %.3f", ap)
    pr.xLabel = "recall"
    pr.yLabel = "precision"
    pr.horizontalLine(at: prevalence, label: String(format: "chance: share malignant %.2f", prevalence))
    // The curve as the steps that average precision sums: precision held from one recall to the next.
    pr.line(steps(recalls, precisions).x, steps(recalls, precisions).y, label: "the network", color: Palette.color(0))
    pr.line(steps(singleRecalls, singlePrecisions).x, steps(singleRecalls, singlePrecisions).y, label: String(format: "%@ alone: AP %.3f", singleName, singleCurve.averagePrecision), color: Palette.color(2), dash: .dashDot)
    pr.scatter([atT.recall], [atT.precision], label: String(format: "threshold %.2f", threshold), color: Palette.color(1), size: 10)
    pr.xLimits = -0.02...1.02
    pr.yLimits = 0...1.02
    pr.legend = .lowerRight
    try lesson.save(rp, as: "roc-pr")
    // end figure

    // MARK: The accuracy paradox: the test set with malignant tumours made rare
    let benignTest = testIdx.indices.filter { labels[$0] == 0 }
    var paradoxRng = SeededGenerator(seed: lesson.seed(4))
    let malignantTest = testIdx.indices.filter { labels[$0] == 1 }
    let keep = max(1, Int((Double(benignTest.count) * 0.05 / 0.95).rounded()))
    let kept = paradoxRng.permutation(malignantTest.count).prefix(keep).map { malignantTest[$0] }
    let rare = (benignTest + kept).sorted()
    let rareScores = rare.map { scores[$0] }, rareLabels = rare.map { labels[$0] }
    let always = BinaryConfusion(scores: rareScores.map { _ in 0 }, labels: rareLabels, threshold: 0.5)
    let network = BinaryConfusion(scores: rareScores, labels: rareLabels, threshold: threshold)
    let share = Double(kept.count) / Double(rare.count)
    lesson.say(String(format: "Accuracy paradox (%d benign, %d malignant = %.1f%%): 'always benign' accuracy %.3f, recall %.3f; the network accuracy %.3f, recall %.3f",
      benignTest.count, kept.count, 100 * share, always.accuracy, always.recall, network.accuracy, network.recall))
    // figure: accuracy-paradox
    let paradox = Figure(width: 820, height: 440, title: String(format: "The accuracy paradox: %d benign and %d malignant test tumours (%.1f%% malignant)", benignTest.count, kept.count, 100 * share))
    paradox.axes.yLabel = "value"
    paradox.axes.bars(categories: ["accuracy", "recall", "F1"], series: [
      BarSeries("always say benign", values: [always.accuracy, always.recall, always.f1], color: Palette.color(1)),
      BarSeries(String(format: "the network (threshold %.2f)", threshold), values: [network.accuracy, network.recall, network.f1], color: Palette.color(0)),
    ])
    for (k, values) in [[always.accuracy, always.recall, always.f1], [network.accuracy, network.recall, network.f1]].enumerated() {
      for (i, v) in values.enumerated() {
        paradox.axes.text(String(format: "%.3f", v), x: Double(i) - 0.2 + 0.4 * Double(k), y: v + 0.015, size: 11, anchor: .center, baseline: .bottom)
      }
    }
    paradox.axes.horizontalLine(at: 1 - share, label: String(format: "share benign: %.3f", 1 - share))
    paradox.axes.yLimits = 0...1.15
    paradox.axes.legend = .upperRight
    try lesson.save(paradox, as: "accuracy-paradox")
    // end figure

    // MARK: Calibration
    let bins = Metrics.calibration(probabilities: scores, labels: labels, bins: 10)
    let ece = Metrics.expectedCalibrationError(bins)
    let filled = bins.filter { $0.count > 0 }
    // figure: calibration
    let cal = Figure(width: 1050, height: 460, columns: 2, title: String(format: "Calibration on the test set: expected calibration error %.3f", ece))
    let rel = cal.axes(0, 0), hist = cal.axes(0, 1)
    rel.title = "reliability diagram (10 bins; numbers: tumours in the bin)"
    rel.xLabel = "mean predicted probability of malignant"
    rel.yLabel = "fraction actually malignant"
    rel.line([0, 1], [0, 1], label: "perfectly calibrated", color: .mutedInk, width: 1.2, dash: .dashed)
    rel.line(filled.map(\.meanPrediction), filled.map(\.fractionPositive), label: "the network", color: Palette.color(0), marker: .circle, markerSize: 5)
    for b in filled {
      let below = b.fractionPositive > 0.5
      rel.text("\(b.count)", x: b.meanPrediction, y: b.fractionPositive + (below ? -0.035 : 0.035), size: 10.5, color: .mutedInk, anchor: .center, baseline: below ? .top : .bottom)
    }
    rel.xLimits = -0.04...1.04
    rel.yLimits = -0.1...1.1
    rel.legend = .upperLeft
    hist.title = "predicted probabilities by true class"
    hist.xLabel = "predicted probability of malignant"
    hist.yLabel = "tumours"
    hist.histogram(zip(scores, labels).filter { $0.1 == 0 }.map(\.0), bins: 20, range: 0...1, label: "benign", color: Color.negative)
    hist.histogram(zip(scores, labels).filter { $0.1 == 1 }.map(\.0), bins: 20, range: 0...1, label: "malignant", color: Color.positive, opacity: 0.7)
    hist.legend = .upperCenter
    try lesson.save(cal, as: "calibration")
    // end figure

    // MARK: Many classes: the digits
    let digitParts = digitSet.stratifiedSplit([0.8, 0.2], seed: lesson.seed(5))
    let scale = Tensor(scalar: 1 / Float(Digits.maxPixel))
    var digitRng = SeededGenerator(seed: lesson.seed(6))
    let digitModel = Sequential([
      try Dense(Digits.pixelCount, 32, initializer: .heNormal, rng: &digitRng), Activation(.relu),
      try Dense(32, Digits.classCount, initializer: .xavierUniform, rng: &digitRng),
    ])
    let digitEpochs = options.quick ? 5 : 30
    lesson.say("Digits: a 64-32-10 ReLU network, \(digitParts[0].count) training and \(digitParts[1].count) test images, \(digitEpochs) epochs")
    let digitTrainer = Trainer(
      loss: .softmaxCrossEntropy, optimizer: try Adam(digitModel.parameters, learningRate: 0.003), epochs: digitEpochs, batchSize: 32,
      seed: lesson.seed(7), progress: ProgressPrinter(every: max(1, digitEpochs / 3)))
    _ = try digitTrainer.fit(digitModel, x: try digitSet.features(digitParts[0]) * scale, y: try digitSet.labelTensor(digitParts[0]))
    let predicted = try Tensor.withoutGrad { try digitModel(try digitSet.features(digitParts[1]) * scale).argmax(axis: 1) }
    let digitConfusion = MulticlassConfusion(predicted: predicted, actual: digitParts[1].map { digitSet.labels[$0] }, classes: Digits.classCount)
    let macro = digitConfusion.macro, micro = digitConfusion.micro
    lesson.say(String(format: "Digits test: accuracy %.4f; macro precision %.4f, recall %.4f, F1 %.4f; micro F1 %.4f", digitConfusion.accuracy, macro.precision, macro.recall, macro.f1, micro.f1))
    // figure: digits-per-class
    let classNames = (0..<Digits.classCount).map(String.init)
    let dig = Figure(width: 1200, height: 500, columns: 2, title: String(format: "The digits, class by class: accuracy %.3f, macro F1 %.3f, micro F1 %.3f", digitConfusion.accuracy, macro.f1, micro.f1))
    let dm = dig.axes(0, 0), db = dig.axes(0, 1)
    dm.title = "confusion matrix (rows: true digit)"
    dm.xLabel = "predicted"
    dm.yLabel = "true"
    dm.matrix(digitConfusion.counts.map { $0.map(Double.init) }, rowLabels: classNames, columnLabels: classNames)
    db.xLabel = "digit"
    db.bars(categories: classNames, series: [
      BarSeries("precision", values: digitConfusion.precision.map { $0.isNaN ? 0 : $0 }, color: Palette.color(0)),
      BarSeries("recall", values: digitConfusion.recall.map { $0.isNaN ? 0 : $0 }, color: Palette.color(1)),
      BarSeries("F1", values: digitConfusion.f1.map { $0.isNaN ? 0 : $0 }, color: Palette.color(2)),
    ])
    let lowestF1 = digitConfusion.f1.map { $0.isNaN ? 0 : $0 }.min() ?? 0
    let floorValue = Swift.max(0, floor((lowestF1 - 0.1) * 10) / 10)
    db.yLimits = floorValue...(1 + (1 - floorValue) * 0.45)
    db.title = floorValue > 0 ? String(format: "per-class precision, recall and F1 (y axis from %.1f)", floorValue) : "per-class precision, recall and F1"
    db.legend = .upperCenter
    try lesson.save(dig, as: "digits-per-class")
    // end figure

    // MARK: summary.json
    func counts(_ c: BinaryConfusion) -> SummaryValue {
      .object(["tp": .number(Double(c.truePositives)), "fp": .number(Double(c.falsePositives)), "tn": .number(Double(c.trueNegatives)), "fn": .number(Double(c.falseNegatives))])
    }
    func rates(_ c: BinaryConfusion) -> [String: SummaryValue] {
      ["precision": .number(c.precision), "recall": .number(c.recall), "f1": .number(c.f1), "specificity": .number(c.specificity), "accuracy": .number(c.accuracy), "confusion": counts(c)]
    }
    let worstDigit = (0..<Digits.classCount).min { digitConfusion.f1[$0] < digitConfusion.f1[$1] }!
    lesson.summary = [
      "auc": .number(auc),
      "auc_pairwise": .number(Metrics.pairwiseAUC(scores: scores, labels: labels)),
      "single_feature": .object(["name": .text(singleName), "auc": .number(singleCurve.auc), "average_precision": .number(singleCurve.averagePrecision)]),
      "average_precision": .number(ap),
      "threshold": .number(threshold),
      "precision": .number(atT.precision),
      "recall": .number(atT.recall),
      "f1": .number(atT.f1),
      "specificity": .number(atT.specificity),
      "test_accuracy": .number(atT.accuracy),
      "confusion": counts(atT),
      "f1_wrong_accuracy_recall": .number(wrongF1),
      "at_half": .object(rates(atHalf)),
      "cost_ratio": .number(costRatio),
      "bayes_threshold": .number(bayes),
      "validation_cost": .number(lowest),
      "validation_cost_at_half": .number(validCost[grid.firstIndex(of: 0.5)!]),
      "test_cost": .number(atT.cost(falseNegativeCost: costRatio, falsePositiveCost: 1)),
      "test_cost_at_half": .number(atHalf.cost(falseNegativeCost: costRatio, falsePositiveCost: 1)),
      "prevalence": .number(prevalence),
      "max_benign_score": .number(zip(scores, labels).filter { $0.1 == 0 }.map(\.0).max() ?? .nan),
      "split": .object(["train": .number(Double(trainIdx.count)), "validation": .number(Double(validIdx.count)), "test": .number(Double(testIdx.count)), "test_malignant": .number(Double(curve.positives)), "test_benign": .number(Double(curve.negatives))]),
      "paradox": .object([
        "benign": .number(Double(benignTest.count)), "malignant": .number(Double(kept.count)), "malignant_share": .number(share),
        "always_benign_accuracy": .number(always.accuracy), "always_benign_recall": .number(always.recall), "always_benign_f1": .number(always.f1),
        "network_accuracy": .number(network.accuracy), "network_recall": .number(network.recall), "network_f1": .number(network.f1),
        "network_precision": .number(network.precision),
        "network_f1_wrong_accuracy_recall": .number(2 * network.accuracy * network.recall / (network.accuracy + network.recall)),
      ]),
      "calibration": .object([
        "ece": .number(ece),
        "bin_counts": .numbers(bins.map { Double($0.count) }),
        "extreme_share": .number(Double(scores.filter { $0 < 0.1 || $0 >= 0.9 }.count) / Double(scores.count)),
      ]),
      "digits": .object([
        "accuracy": .number(digitConfusion.accuracy),
        "macro_precision": .number(macro.precision), "macro_recall": .number(macro.recall), "macro_f1": .number(macro.f1),
        "micro_precision": .number(micro.precision), "micro_recall": .number(micro.recall), "micro_f1": .number(micro.f1),
        "per_class_precision": .numbers(digitConfusion.precision), "per_class_recall": .numbers(digitConfusion.recall), "per_class_f1": .numbers(digitConfusion.f1),
        "worst_class": .number(Double(worstDigit)), "worst_f1": .number(digitConfusion.f1[worstDigit]),
        "train_images": .number(Double(digitParts[0].count)), "test_images": .number(Double(digitParts[1].count)), "epochs": .number(Double(digitEpochs)),
      ]),
      "epochs": .number(Double(epochs)),
      "hidden": .number(Double(hidden)),
      "train_loss": .number(history.trainLoss.last!),
      "validation_loss": .number(history.validationLoss.last! ?? .nan),
      "train_seconds": .number(history.epochSeconds.reduce(0, +)),
    ]
    try lesson.writeHistory(history, run: "binary_classifier")  // the main run (not the digits network)
    try lesson.finish()
  }

  /// The precision-recall curve as the steps average precision sums: precision Pₖ held over the recall
  /// interval (Rₖ₋₁, Rₖ], so the area under the drawn line is the average precision.
  func steps(_ recalls: [Double], _ precisions: [Double]) -> (x: [Double], y: [Double]) {
    var x: [Double] = [], y: [Double] = [], previous = 0.0
    for k in recalls.indices {
      x += [previous, recalls[k]]
      y += [precisions[k], precisions[k]]
      previous = recalls[k]
    }
    return (x, y)
  }

  func plural(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }

  /// A split of `labels`' indices in the proportions `fractions`, class by class (each class shuffled by
  /// `seed` and dealt out), so each part keeps the share of positives; each part sorted.
  func stratifiedSplit(_ labels: [Int], fractions: [Double], seed: UInt64) -> [[Int]] {
    var rng = SeededGenerator(seed: seed)
    var parts = [[Int]](repeating: [], count: fractions.count)
    let total = fractions.reduce(0, +)
    for c in Set(labels).sorted() {
      let members = labels.indices.filter { labels[$0] == c }
      let order = rng.permutation(members.count).map { members[$0] }
      var start = 0, cumulative = 0.0
      for (p, f) in fractions.enumerated() {
        cumulative += f
        let end = p == fractions.count - 1 ? order.count : Int((cumulative / total * Double(order.count)).rounded())
        parts[p] += order[start..<max(start, end)]
        start = max(start, end)
      }
    }
    return parts.map { $0.sorted() }
  }

  /// The scores and labels as CSV with a header, every score in full precision (it reads back to the same
  /// Double), so another tool recomputes exactly the lesson's numbers.
  func writeScores(_ scores: [Double], _ labels: [Int], to path: String) throws {
    var text = "score,label\n"
    for (s, y) in zip(scores, labels) { text += String(format: "%.17g", s) + ",\(y)\n" }
    let tmp = path + ".tmp-\(getpid())"
    do {
      try Data(text.utf8).write(to: URL(fileURLWithPath: tmp))
      guard rename(tmp, path) == 0 else { throw LessonError(String(cString: strerror(errno))) }
    } catch {
      try? FileManager.default.removeItem(atPath: tmp)
      throw LessonError("cannot write \(path): \(error)")
    }
  }
}
