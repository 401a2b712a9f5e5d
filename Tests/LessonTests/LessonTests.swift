import Datasets
import FigureTesting
import Foundation
import Tensors
import XCTest

/// Each lesson run end to end in quick mode: its files, its numbers, a figure baseline, its README.
final class LessonTests: XCTestCase {
  func quickRun(_ name: String) throws -> LessonRun {
    let run = try LessonRun.run(name, ["--quick"])
    XCTAssertEqual(run.status, 0, "\(name) failed: \(run.errorOutput)")
    try run.checkFigureFiles()
    XCTAssertEqual(try run.figures(), try LessonRun.readmeFigures(name), "\(name): the README must show exactly the figures the program writes, in order")
    try run.checkNumberMarkers()
    return run
  }

  func testNeuron() throws {
    let run = try quickRun("01-neuron")
    defer { run.remove() }
    let s = try run.summary()
    XCTAssertGreaterThan(try XCTUnwrap(s["blobs_accuracy"] as? Double), 0.9)
    XCTAssertEqual(try XCTUnwrap(s["xor_final_loss"] as? Double), log(2), accuracy: 0.05, "a single neuron cannot learn XOR")
    XCTAssertEqual(s["parameters"] as? Int, 3)
    XCTAssertEqual((s["w"] as? [Double])?.count, 2)
    // The gradient derived in the text, (ŷ − y)x, trains the neuron to autograd's weights.
    XCTAssertLessThan(try XCTUnwrap(s["by_hand_max_difference"] as? Double), 1e-5)
    // The common mistakes: the flipped sign climbs, the extra σ′(z) ends higher than the right gradient.
    XCTAssertGreaterThan(try XCTUnwrap(s["wrong_sign_final_loss"] as? Double), 2 * (try XCTUnwrap(s["wrong_sign_first_loss"] as? Double)))
    XCTAssertGreaterThan(try XCTUnwrap(s["extra_factor_final_loss"] as? Double), try XCTUnwrap(s["blobs_final_loss"] as? Double))
    // On XOR the neuron gives up: ŷ ≈ 0.5 at every point.
    XCTAssertGreaterThan(try XCTUnwrap(s["xor_output_min"] as? Double), 0.4)
    XCTAssertLessThan(try XCTUnwrap(s["xor_output_max"] as? Double), 0.6)
    try run.checkBaseline("blobs-before-after")
    try run.checkBaseline("neuron-diagram")
  }

  func testActivations() throws {
    let run = try quickRun("02-activations")
    defer { run.remove() }
    let s = try run.summary()
    let norms = try XCTUnwrap(s["gradient_norms"] as? [String: [Double]])
    let sigmoid = try XCTUnwrap(norms["sigmoid"]), relu = try XCTUnwrap(norms["relu"])
    XCTAssertEqual(sigmoid.count, 10)
    XCTAssertLessThan(sigmoid[0], sigmoid[9] / 100, "sigmoid's gradient vanishes towards the input")
    XCTAssertGreaterThan(relu[0], relu[9] / 10, "ReLU with He initialisation keeps it")
    // The text: shrinking by about 4 or more per layer, as σ′ ≤ ¼ with neutral weights predicts.
    let shrink = try XCTUnwrap(s["gradient_shrink"] as? [String: [String: Double]])
    XCTAssertGreaterThan(try XCTUnwrap(shrink["sigmoid"]?["per_layer"]), 3.5)
    let moons = try XCTUnwrap(s["moons"] as? [String: [String: Double]])
    XCTAssertEqual(moons.count, 8)
    // The text: the sigmoid network learns slowest, and stays near the single neuron's loss.
    let sigmoidLoss = try XCTUnwrap(moons["sigmoid"]?["final_loss"])
    for (name, r) in moons where name != "sigmoid" { XCTAssertLessThan(try XCTUnwrap(r["final_loss"]), sigmoidLoss, name) }
    let neuron = try XCTUnwrap(s["one_neuron"] as? [String: Double])
    XCTAssertGreaterThan(sigmoidLoss, 0.8 * (try XCTUnwrap(neuron["final_loss"])))
    XCTAssertEqual(moons["sigmoid"]?["left_plateau_step"], -1)
    try run.checkBaseline("activation-curves")
  }

  func testLossFunctions() throws {
    let run = try quickRun("03-loss-functions")
    defer { run.remove() }
    let s = try run.summary()
    let fits = try XCTUnwrap(s["line_fits"] as? [String: [String: Double]])
    // Outliers drag the MSE line up more than the MAE line.
    XCTAssertGreaterThan(try XCTUnwrap(fits["mse"]?["b"]), try XCTUnwrap(fits["mae"]?["b"]) + 0.2)
    let example = try XCTUnwrap(s["softmax_example"] as? [String: Any])
    XCTAssertEqual(try XCTUnwrap(example["loss"] as? Double), 0.4170, accuracy: 1e-3)
    // The common mistake: labels (y − ȳ)/ȳ = -1/+1 give a cross-entropy below zero that keeps falling.
    let labels = try XCTUnwrap(s["label_mistake"] as? [String: Any])
    let right = try XCTUnwrap(labels["labels_0_1"] as? [String: Double]), wrong = try XCTUnwrap(labels["labels_normalised"] as? [String: Double])
    XCTAssertEqual(wrong["low_label"], -1)
    XCTAssertGreaterThan(try XCTUnwrap(right["final_loss"]), 0)
    XCTAssertLessThan(try XCTUnwrap(wrong["final_loss"]), 0)
    XCTAssertGreaterThan(try XCTUnwrap(wrong["loss_drop_last_step"]), 0.1, "still falling")
    XCTAssertGreaterThan(try XCTUnwrap(wrong["weight_norm"]), 5 * (try XCTUnwrap(right["weight_norm"])))
    try run.checkBaseline("regression-losses")
  }

  func testSameSeedGivesIdenticalFiles() throws {
    let a = try LessonRun.run("01-neuron", ["--quick", "--seed", "7"]), b = try LessonRun.run("01-neuron", ["--quick", "--seed", "7"])
    defer { a.remove(); b.remove() }
    for fig in try a.figures() {
      for ext in ["png", "svg"] {
        XCTAssertEqual(FileManager.default.contents(atPath: "\(a.folder)/\(fig).\(ext)"), FileManager.default.contents(atPath: "\(b.folder)/\(fig).\(ext)"), "\(fig).\(ext) differs between two runs")
      }
    }
    var sa = try a.summary(), sb = try b.summary()
    for k in ["run_seconds", "train_seconds"] { sa[k] = nil; sb[k] = nil }
    XCTAssertEqual(NSDictionary(dictionary: sa), NSDictionary(dictionary: sb))
  }

  func testBadFlagsGetOneClearLine() throws {
    for (lesson, args, expected) in [
      ("01-neuron", ["--epochs", "0"], "--epochs must be at least 1"),
      ("01-neuron", ["--format", "jpg"], "jpg"),
      ("02-activations", ["--lr=-1"], "--lr must be a positive number"),
      ("03-loss-functions", ["--delta", "0"], "--delta must be a positive number"),
    ] {
      let run = try LessonRun.run(lesson, args)
      defer { run.remove() }
      XCTAssertNotEqual(run.status, 0, "\(lesson) \(args) should fail")
      XCTAssert(run.errorOutput.contains(expected), "\(lesson) \(args): \(run.errorOutput)")
      XCTAssertFalse(FileManager.default.fileExists(atPath: run.folder + "/summary.json"))
    }
  }

  func testUnwritableOutputFolderIsRefusedBeforeAnyWork() throws {
    let file = NSTemporaryDirectory() + "/neural-lessons-not-a-folder-\(getpid())"
    FileManager.default.createFile(atPath: file, contents: Data("x".utf8))
    defer { try? FileManager.default.removeItem(atPath: file) }
    let run = try LessonRun.run("01-neuron", ["--quick", "--out", file + "/sub"])
    XCTAssertNotEqual(run.status, 0)
    XCTAssert(run.errorOutput.contains("is not writable") && run.errorOutput.contains("--out"), run.errorOutput)
    XCTAssertEqual(run.errorOutput.split(separator: "\n").count, 1, run.errorOutput)
  }

  func testHelpListsTheCommonFlags() throws {
    for lesson in ["01-neuron", "02-activations", "03-loss-functions"] {
      let run = try LessonRun.run(lesson, ["--help"], folder: "/nonexistent")
      XCTAssertEqual(run.status, 0)
      for flag in ["--out", "--seed", "--format", "--quick"] { XCTAssert(run.output.contains(flag), "\(lesson) --help lacks \(flag)") }
    }
  }
}

/// Lesson 4's data handling and its agreement with an independent implementation.
final class GradientDescentLessonTests: XCTestCase {
  func writeCSV(_ text: String) -> String {
    let path = NSTemporaryDirectory() + "/neural-lessons-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).csv"
    FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
    return path
  }

  func testQuickRun() throws {
    let run = try LessonRun.run("04-gradient-descent", ["--quick"])
    defer { run.remove() }
    XCTAssertEqual(run.status, 0, run.errorOutput)
    try run.checkFigureFiles()
    XCTAssertEqual(try run.figures(), try LessonRun.readmeFigures("04-gradient-descent"))
    try run.checkNumberMarkers()
    let s = try run.summary()
    let closed = try XCTUnwrap(s["closed_form"] as? [String: Double])
    XCTAssertEqual(try XCTUnwrap(s["w"] as? Double), try XCTUnwrap(closed["w"]), accuracy: 1e-3)
    let rates = try XCTUnwrap(s["learning_rates"] as? [String: [String: Any]])
    XCTAssertNotNil(rates["too_large"]?["diverged_at"] as? Double, "the too-large learning rate must be reported as diverging")
    XCTAssertEqual(rates["good"]?["diverged_at"] as? String, "no")
    try run.checkBaseline("learning-rates")

    // The straight line on the log scale: L - L* shrinks by (1 - η λmin)² per step at the end.
    let perStep = try XCTUnwrap(s["per_step"] as? [String: Double])
    XCTAssertEqual(try XCTUnwrap(perStep["gap_factor_measured"]), try XCTUnwrap(perStep["gap_factor_predicted"]), accuracy: 1e-4)
    // The wrong sign climbs; the right one falls.
    let start = try XCTUnwrap(s["start_loss"] as? Double)
    let wrong = try XCTUnwrap(s["wrong_sign"] as? [String: Double])
    XCTAssertGreaterThan(try XCTUnwrap(wrong["loss_after"]), 100 * start)
    XCTAssertLessThan(try XCTUnwrap(wrong["right_sign_loss_after"]), start / 10)

    // What the text says each optimizer does (the optimizers run the same steps in quick mode).
    let opt = try XCTUnwrap(s["optimizers"] as? [String: [String: [String: Any]]])
    func value(_ problem: String, _ name: String, _ key: String) throws -> Double { try XCTUnwrap(opt[problem]?[name.lowercased()]?[key] as? Double, "\(problem).\(name).\(key)") }
    XCTAssertGreaterThan(try value("bowl", "SGD", "final_loss"), 1e-3, "SGD crawls along the shallow axis")
    XCTAssertLessThan(try value("bowl", "momentum", "lowest_y"), -1, "momentum swings across the bowl")
    XCTAssertLessThan(try value("bowl", "Nesterov", "stays_below_tolerance_from"), try value("bowl", "momentum", "stays_below_tolerance_from"), "Nesterov settles first")
    XCTAssertLessThan(try value("bowl", "Nesterov", "stays_below_tolerance_from"), try value("bowl", "Adam", "stays_below_tolerance_from"))
    XCTAssertLessThan(try value("bowl", "RMSProp", "steps_to_tolerance"), try value("bowl", "Nesterov", "steps_to_tolerance"), "RMSProp touches the tolerance first")
    XCTAssertGreaterThan(try value("bowl", "RMSProp", "final_loss"), 1e-3, "RMSProp keeps bouncing")
    XCTAssertEqual(opt["bowl"]?["rmsprop"]?["stays_below_tolerance_from"] as? String, "does not stay below")
    XCTAssertGreaterThan(try value("rosenbrock", "SGD", "final_loss"), 1e-2)
    XCTAssertLessThan(try value("rosenbrock", "momentum", "final_loss"), 1e-6)
    XCTAssertLessThan(try value("rosenbrock", "Nesterov", "final_loss"), 1e-6)
    XCTAssertGreaterThan(try value("rosenbrock", "RMSProp", "final_loss"), try value("rosenbrock", "Adam", "final_loss"))
    // Adam without its bias correction: early steps several times α; with it, at most α per coordinate.
    let adam = try XCTUnwrap((s["adam_without_bias_correction"] as? [String: [String: Double]])?["bowl"])
    XCTAssertGreaterThan(try XCTUnwrap(adam["largest_step_over_alpha"]), 3)
    XCTAssertEqual(try XCTUnwrap(adam["with_correction_largest_step_over_alpha"]), 1, accuracy: 1e-3)
  }

  func testBadCSVFilesGetOneLineNamingTheFileAndLine() throws {
    let cases: [(String, String)] = [
      ("", "the file is empty"),
      ("x,y\n1,2\n3\n", "line 3: no value in column y"),
      ("x,y\n1,2\n3,\n4,5\n", "line 3: no value in column y"),
      ("x,y\n1,2\n3,abc\n", "line 3: 'abc' in column y is not a number"),
      ("x,y\n1,2\n", "has 1 data row; need at least two"),
    ]
    for (text, expected) in cases {
      let csv = writeCSV(text)
      defer { try? FileManager.default.removeItem(atPath: csv) }
      let run = try LessonRun.run("04-gradient-descent", ["--csv", csv])
      defer { run.remove() }
      XCTAssertNotEqual(run.status, 0, text)
      XCTAssert(run.errorOutput.contains(expected) && run.errorOutput.contains((csv as NSString).lastPathComponent), "\(text.debugDescription): \(run.errorOutput)")
      XCTAssertFalse(FileManager.default.fileExists(atPath: run.folder), "nothing is written for bad data")
    }
    let missing = try LessonRun.run("04-gradient-descent", ["--csv", "/nonexistent/points.csv"])
    XCTAssert(missing.errorOutput.contains("cannot be read"), missing.errorOutput)
  }

  func testDivergingLearningRateIsReported() throws {
    let csv = writeCSV("x,y\n0,1\n1,3\n2,5\n3,7\n")
    defer { try? FileManager.default.removeItem(atPath: csv) }
    let run = try LessonRun.run("04-gradient-descent", ["--csv", csv, "--lr", "5", "--steps", "100"])
    defer { run.remove() }
    XCTAssertNotEqual(run.status, 0)
    XCTAssert(run.errorOutput.contains("diverged at step") && run.errorOutput.contains("use a learning rate below"), run.errorOutput)
  }

  /// The same batch gradient descent written in numpy gives the same w and b.
  func testMatchesNumpyGradientDescent() throws {
    var lines = ["x,y"]
    for i in 0..<25 { let x = Double(i) / 5 - 2; lines.append("\(x),\(2.5 * x - 1 + sin(Double(i)))") }
    let csv = writeCSV(lines.joined(separator: "\n") + "\n")
    defer { try? FileManager.default.removeItem(atPath: csv) }
    let run = try LessonRun.run("04-gradient-descent", ["--csv", csv, "--lr", "0.01", "--steps", "1000", "--format", "svg"])
    defer { run.remove() }
    XCTAssertEqual(run.status, 0, run.errorOutput)
    let s = try run.summary()
    let script = """
      import sys
      try:
          import numpy as np
      except ImportError:
          sys.exit(3)
      d = np.loadtxt(sys.argv[1], delimiter=",", skiprows=1)
      x, y = d[:, 0], d[:, 1]
      w = b = 0.0
      for _ in range(1000):
          r = w * x + b - y
          w, b = w - 0.01 * 2 * np.mean(r * x), b - 0.01 * 2 * np.mean(r)
      print(float(w), float(b))
      """
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", script, csv]
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    do { try p.run() } catch { throw XCTSkip("python3 is not available") }
    p.waitUntilExit()
    if p.terminationStatus == 3 { throw XCTSkip("numpy is not installed") }
    let values = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: " ").compactMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    guard values.count == 2 else { return XCTFail("numpy printed \(values)") }
    XCTAssertEqual(try XCTUnwrap(s["w"] as? Double), values[0], accuracy: 1e-9 * max(1, abs(values[0])))
    XCTAssertEqual(try XCTUnwrap(s["b"] as? Double), values[1], accuracy: 1e-9 * max(1, abs(values[1])))
  }
}

final class BackpropagationLessonTests: XCTestCase {
  func testQuickRun() throws {
    let run = try LessonRun.run("05-backpropagation", ["--quick"])
    defer { run.remove() }
    XCTAssertEqual(run.status, 0, run.errorOutput)
    try run.checkFigureFiles()
    XCTAssertEqual(try run.figures(), try LessonRun.readmeFigures("05-backpropagation"))
    try run.checkNumberMarkers()
    let s = try run.summary()
    XCTAssertLessThan(try XCTUnwrap(s["hand_vs_autograd_max_difference"] as? Double), 1e-6)
    // The chain rule by hand agrees with Float64 differences to many digits and with autograd to Float32's;
    // the engine's Float32 differences are limited by rounding (an absolute error of about ε L / h).
    let check = try XCTUnwrap(s["gradient_check"] as? [String: Any])
    func number(_ key: String) throws -> Double { try XCTUnwrap(check[key] as? Double, key) }
    XCTAssertLessThan(try number("float64_max_relative_error"), 1e-6)
    XCTAssertLessThan(try number("autograd_max_relative_error"), 1e-5)
    XCTAssertLessThan(try number("float32_max_absolute_error"), 1e-4)
    XCTAssertGreaterThan(try number("float32_max_relative_error"), 100 * (try number("float64_max_relative_error")))
    XCTAssertLessThan(try number("sweep_best_error_float64"), 1e-9)
    XCTAssertGreaterThan(try number("sweep_best_error_float32"), 1e-9, "Float32 differences cannot reach Float64's precision")
    // The same delta in every layer is wrong, and training with it fails where the right deltas succeed.
    let wrong = try XCTUnwrap(s["wrong_delta"] as? [String: Double])
    XCTAssertGreaterThan(try XCTUnwrap(wrong["w1_relative_error"]), 0.5)
    XCTAssertGreaterThan(try XCTUnwrap(wrong["wrong_final_loss"]), 10 * (try XCTUnwrap(wrong["right_final_loss"])))
    // Snapshots at increasing epochs, the last one the final epoch.
    let epochs = try XCTUnwrap(s["snapshot_epochs"] as? [Int])
    XCTAssertEqual(epochs, epochs.sorted())
    XCTAssertEqual(Set(epochs).count, epochs.count)
    XCTAssertEqual(epochs.last, s["epochs"] as? Int)
    XCTAssertEqual((s["snapshot_accuracies"] as? [Double])?.count, epochs.count)
    // The graph's gradients, worked out by hand: u = d f = -0.8, dL/du = 1 - tanh²(-0.8).
    let graph = try XCTUnwrap(s["graph"] as? [String: [String: Double]])
    let du = 1 - pow(tanh(-0.8), 2)
    XCTAssertEqual(try XCTUnwrap(graph["u"]?["grad"]), du, accuracy: 1e-6)
    XCTAssertEqual(try XCTUnwrap(graph["a"]?["grad"]), -3 * -0.2 * du, accuracy: 1e-5)
    XCTAssertEqual(try XCTUnwrap(graph["b"]?["grad"]), 2 * -0.2 * du, accuracy: 1e-5)
    XCTAssertEqual(try XCTUnwrap(graph["c"]?["grad"]), -0.2 * du, accuracy: 1e-5)
    XCTAssertEqual(try XCTUnwrap(graph["f"]?["grad"]), 4 * du, accuracy: 1e-5)
    XCTAssert(run.output.contains("by hand") && run.output.contains("autograd"), "the lesson prints the gradients")
    try run.checkBaseline("computation-graph")
  }
}

/// Lesson 6 on a tiny CIFAR-10 fixture in the official layout (the tests never need the real data set).
final class CNNLessonTests: XCTestCase {
  var data: String!

  override func setUpWithError() throws {
    data = NSTemporaryDirectory() + "/cifar-lesson-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
    var rng = SeededGenerator(seed: 5)
    for file in CIFAR10.trainFiles + CIFAR10.testFiles {
      let n = 24
      let set = CIFAR10(pixels: (0..<(n * CIFAR10.imageSize)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, labels: (0..<n).map { $0 % 10 })
      try set.write(to: data + "/" + file)
    }
  }

  override func tearDown() { try? FileManager.default.removeItem(atPath: data) }

  func testQuickRunAndResume() throws {
    let run = try LessonRun.run("06-cnn-cifar10", ["--quick", "--data", data, "--epochs", "1", "--batch-size", "16"])
    defer { run.remove() }
    XCTAssertEqual(run.status, 0, run.errorOutput)
    try run.checkFigureFiles()
    XCTAssertEqual(try run.figures(), try LessonRun.readmeFigures("06-cnn-cifar10"))
    try run.checkNumberMarkers()
    var s = try run.summary()
    XCTAssertNotNil(s["test_accuracy"] as? Double)
    XCTAssertEqual((s["epoch_seconds"] as? [Double])?.count, 1)
    XCTAssertEqual((s["validation_seconds"] as? [Double])?.count, 1)
    XCTAssertGreaterThan(try XCTUnwrap(s["peak_rss_bytes"] as? Double), 1e6)
    XCTAssertEqual(s["parameters"] as? Int, 122_570)
    XCTAssert(run.output.contains("Total params: 122,570"), "the model summary is printed")
    XCTAssert(FileManager.default.fileExists(atPath: run.folder + "/checkpoint.safetensors"))
    try run.checkBaseline("network")

    // A tenth of the 120 training images is held out for validation; the 24 test images are scored once.
    XCTAssertEqual(s["train_images"] as? Int, 108)
    XCTAssertEqual(s["validation_images"] as? Int, 12)
    XCTAssertEqual(s["test_images"] as? Int, 24)
    let history = try XCTUnwrap(s["history"] as? [String: [Double]])
    let validationRight: Double = try XCTUnwrap(s["validation_accuracy"] as? Double) * 12
    let testRight: Double = try XCTUnwrap(s["test_accuracy"] as? Double) * 24
    XCTAssertEqual(s["validation_accuracy"] as? Double, history["validation_accuracy"]?.last)
    XCTAssertEqual(validationRight, validationRight.rounded(), accuracy: 1e-9, "a fraction of the 12 validation images")
    XCTAssertEqual(testRight, testRight.rounded(), accuracy: 1e-9, "a fraction of the 24 test images")
    XCTAssert(run.output.contains("108 training, 12 validation and 24 test images"), run.output)

    // The ranking the text and the bar chart use agrees with the per-class accuracies; the confusion matrix
    // holds every test image; vehicles and animals are averaged over their classes.
    let perClass = try XCTUnwrap(s["per_class_accuracy"] as? [String: Double])
    let ranked = try XCTUnwrap(s["classes_by_accuracy"] as? [String])
    XCTAssertEqual(Set(ranked), Set(CIFAR10.classNames))
    XCTAssertEqual(ranked.map { perClass[$0]! }, ranked.map { perClass[$0]! }.sorted(by: >))
    let confusion = try XCTUnwrap(s["confusion"] as? [String: [String: Int]])
    XCTAssertEqual(confusion.values.flatMap(\.values).reduce(0, +), 24)
    let vehicles: [Double] = ["airplane", "automobile", "ship", "truck"].map { perClass[$0]! }
    XCTAssertEqual(try XCTUnwrap(s["vehicle_accuracy"] as? Double), vehicles.reduce(0, +) / 4, accuracy: 1e-12)

    // What the text states about the layers: receptive fields, the 5-D input's one-line error, channels.
    let fields: [String: Int] = ["conv1": 3, "pool1": 4, "conv2": 8, "pool2": 10, "conv3": 18]
    XCTAssertEqual(try XCTUnwrap(s["receptive_field"] as? [String: Int]), fields)
    XCTAssertEqual(s["input_pixels_seen"] as? Int, 30, "3 · 4 + 18: the second pooling drops the last two rows and columns")
    XCTAssertEqual(s["extra_axis_error"] as? String, "conv2d: the input must be [batch, channels, height, width], got shape [1, 1, 3, 32, 32]")
    let maps = try XCTUnwrap(s["feature_maps"] as? [String: Any])
    for (key, channels) in [("conv1", 32), ("conv2", 64), ("conv3", 64)] {
      for kind in ["zero_channels", "dead_channels"] {
        let n = try XCTUnwrap((maps[kind] as? [String: Int])?[key], "\(kind).\(key)")
        XCTAssert((0...channels).contains(n), "\(kind).\(key) = \(n)")
      }
    }
    for key in ["filter_brightness_share", "filter_brightness_share_initial"] {
      XCTAssert((0...1).contains(try XCTUnwrap(s[key] as? Double)), key)
    }

    let resumed = try LessonRun.run("06-cnn-cifar10", ["--quick", "--data", data, "--epochs", "2", "--batch-size", "16", "--resume"], folder: run.folder)
    XCTAssertEqual(resumed.status, 0, resumed.errorOutput)
    XCTAssert(resumed.output.contains("Resuming after epoch 1"), resumed.output)
    XCTAssertFalse(resumed.output.contains("Epoch 1/2"), "epoch 1 is not trained again")
    s = try resumed.summary()
    XCTAssertEqual((s["epoch_seconds"] as? [Double])?.count, 2)
    XCTAssertEqual((s["history"] as? [String: [Double]])?["validation_accuracy"]?.count, 2, "the checkpoint holds the history")

    // Another seed holds out other images: resuming would train on validation images, so it is refused.
    let otherSplit = try LessonRun.run("06-cnn-cifar10", ["--quick", "--data", data, "--epochs", "3", "--batch-size", "16", "--resume", "--seed", "7"], folder: run.folder)
    XCTAssertNotEqual(otherSplit.status, 0)
    XCTAssert(otherSplit.errorOutput.contains("was trained with 108 training and 12 validation images, seed"), otherSplit.errorOutput)
    XCTAssertEqual(otherSplit.errorOutput.split(separator: "\n").count, 1, otherSplit.errorOutput)
  }

  func testSameSeedGivesIdenticalFiguresAndNumbers() throws {
    let args: [String] = ["--quick", "--data", data, "--epochs", "1", "--batch-size", "16", "--seed", "3"]
    let a = try LessonRun.run("06-cnn-cifar10", args), b = try LessonRun.run("06-cnn-cifar10", args)
    defer { a.remove(); b.remove() }
    XCTAssertEqual(a.status, 0, a.errorOutput)
    for fig in try a.figures() {
      for ext in ["png", "svg"] {
        XCTAssertEqual(FileManager.default.contents(atPath: "\(a.folder)/\(fig).\(ext)"), FileManager.default.contents(atPath: "\(b.folder)/\(fig).\(ext)"), "\(fig).\(ext) differs between two runs")
      }
    }
    var (sa, sb) = (try a.summary(), try b.summary())
    for timing in ["epoch_seconds", "validation_seconds", "run_seconds", "peak_rss_bytes"] { sa[timing] = nil; sb[timing] = nil }
    XCTAssertEqual(NSDictionary(dictionary: sa), NSDictionary(dictionary: sb))
  }

  func testBadDataStopsBeforeWritingAnything() throws {
    try FileManager.default.removeItem(atPath: data + "/data_batch_4.bin")
    let missing = try LessonRun.run("06-cnn-cifar10", ["--quick", "--data", data])
    XCTAssertNotEqual(missing.status, 0)
    XCTAssert(missing.errorOutput.contains("data_batch_4.bin is missing"), missing.errorOutput)
    XCTAssertFalse(FileManager.default.fileExists(atPath: missing.folder))
    let nowhere = try LessonRun.run("06-cnn-cifar10", ["--quick", "--data", data + "/nope"])
    XCTAssert(nowhere.errorOutput.contains("does not exist") && nowhere.errorOutput.contains("make data"), nowhere.errorOutput)
    XCTAssertEqual(nowhere.errorOutput.split(separator: "\n").count, 1, nowhere.errorOutput)
  }

  func testResumeWithoutACheckpointIsRefused() throws {
    let run = try LessonRun.run("06-cnn-cifar10", ["--quick", "--data", data, "--resume"])
    defer { run.remove() }
    XCTAssertNotEqual(run.status, 0)
    XCTAssert(run.errorOutput.contains("no checkpoint"), run.errorOutput)
  }
}

/// Lesson 10 on a small CIFAR-10 fixture in the official layout: every figure the README shows, its numbers'
/// keys, the ablation and the views of test-time augmentation, and the same bits from the same seed.
final class FastCIFARLessonTests: XCTestCase {
  var data: String!

  override func setUpWithError() throws {
    data = NSTemporaryDirectory() + "/fast-cifar-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
    var rng = SeededGenerator(seed: 9)
    for file in CIFAR10.trainFiles + CIFAR10.testFiles {
      let n = 24
      let set = CIFAR10(pixels: (0..<(n * CIFAR10.imageSize)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, labels: (0..<n).map { $0 % 10 })
      try set.write(to: data + "/" + file)
    }
  }

  override func tearDown() { try? FileManager.default.removeItem(atPath: data) }

  func testQuickRun() throws {
    // Narrow blocks keep the debug build's run short; the recipe is the same.
    let args: [String] = ["--quick", "--data", data!, "--batch-size", "32", "--widths", "8,8,8", "--ablation-widths", "8,8,8"]
    let run = try LessonRun.run("10-fast-cifar", args), again = try LessonRun.run("10-fast-cifar", args)
    defer { run.remove(); again.remove() }
    XCTAssertEqual(run.status, 0, run.errorOutput)
    try run.checkFigureFiles()
    XCTAssertEqual(try run.figures(), try LessonRun.readmeFigures("10-fast-cifar"))
    try run.checkNumberMarkers()
    let s = try run.summary()
    for key in ["test_accuracy", "plain_test_accuracy", "wall_seconds", "epoch_seconds", "peak_rss_bytes", "training_seconds"] {
      XCTAssertNotNil(s[key] as? Double, key)
    }
    XCTAssertLessThan(try XCTUnwrap(s["training_seconds"] as? Double), try XCTUnwrap(s["wall_seconds"] as? Double))
    // 24 test images: every accuracy is a whole number of them.
    let views = try XCTUnwrap(s["test_time_augmentation"] as? [String: [String: Double]])
    XCTAssertEqual(Set(views.keys), ["views_1", "views_2", "views_6"])
    XCTAssertEqual(views["views_6"]?["accuracy"], s["test_accuracy"] as? Double)
    XCTAssertEqual(views["views_1"]?["accuracy"], s["plain_test_accuracy"] as? Double)
    for (_, v) in views { XCTAssertEqual(v["accuracy"]! * 24, (v["accuracy"]! * 24).rounded(), accuracy: 1e-9) }
    // The full recipe and each trick removed (one added, and float32 convolutions), each a short run.
    let ablation = try XCTUnwrap(s["ablation"] as? [String: [String: Double]])
    XCTAssertEqual(ablation.count, 11)
    XCTAssertNotNil(ablation["no_whitening"]?["accuracy"])
    XCTAssertNotNil(ablation["with_residual_branches"]?["accuracy"])
    XCTAssertNotNil(ablation["float32_convolutions"]?["seconds"])
    XCTAssertEqual(s["bfloat16_native"] as? Bool, Precision.bfloat16.isNative)
    XCTAssert(run.output.contains("Total params:"), "the model summary is printed")
    XCTAssertEqual(s["parameters"] as? Int, 5_048)
    XCTAssert(run.output.contains("Total params: 5,048"), run.output)
    // The stem's 24 whitening filters (2x2x3 each) are computed, not trained.
    XCTAssert(run.output.contains("Trainable params: 4,760"), run.output)
    XCTAssert(run.output.contains("Non-trainable params: 288"), run.output)
    // Same seed, same bits: every figure but the one whose x-axis is measured time.
    for fig in try run.figures() where fig != "accuracy-vs-time" {
      for ext in ["png", "svg"] {
        XCTAssertEqual(FileManager.default.contents(atPath: "\(run.folder)/\(fig).\(ext)"), FileManager.default.contents(atPath: "\(again.folder)/\(fig).\(ext)"), "\(fig).\(ext)")
      }
    }
    try run.checkBaseline("network")
  }

  /// A first block narrower than the four channels the batch-normalisation figure follows, and fewer steps than
  /// four: the figure draws what there is (it trapped on an empty range before).
  func testNarrowFirstBlockAndFewSteps() throws {
    let args: [String] = ["--quick", "--data", data!, "--batch-size", "64", "--widths", "1,2,2", "--ablation-epochs", "0"]
    let run = try LessonRun.run("10-fast-cifar", args)
    defer { run.remove() }
    XCTAssertEqual(run.status, 0, run.errorOutput)
    try run.checkFigureFiles()
  }
}

/// Lesson 9 on small fixtures in the real files' formats (CI has no data/), and its metrics against an
/// independent computation in Python from the scores.csv it writes.
final class EvaluationLessonTests: XCTestCase {
  var folder: String!
  var table: String { folder + "/breast_cancer.csv" }
  var digits: String { folder + "/digits.csv" }

  override func setUpWithError() throws {
    folder = NSTemporaryDirectory() + "/evaluation-lesson-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    // 160 tumours, 30 features: malignant ones (label 0) shifted on the first ten features, with overlap.
    // Every fourth tumour repeats the one before it, so equal scores (ties) occur.
    var rng = SeededGenerator(seed: 11)
    var features: [Double] = [], labels: [Int] = []
    for i in 0..<160 {
      if i % 4 == 3 {
        features += features[((i - 1) * 30)..<(i * 30)]
        labels.append(labels[i - 1])
        continue
      }
      let label = i % 8 < 3 ? 0 : 1
      for j in 0..<30 {
        let shift = j < 10 && label == 0 ? 1.2 : 0
        features.append(((Double(rng.normal()) + shift) * 10).rounded() / 10 + Double(j))
      }
      labels.append(label)
    }
    try BreastCancer(features: features, labels: labels, featureCount: 30).csv().write(toFile: table, atomically: true, encoding: .utf8)
    let images = 200
    try Digits(pixels: (0..<(images * 64)).map { _ in UInt8(rng.next() % 17) }, labels: (0..<images).map { $0 % 10 }).write(to: digits)
  }

  override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

  func testEvaluation() throws {
    let run = try LessonRun.run("09-evaluation", ["--quick", "--data", table, "--digits", digits])
    defer { run.remove() }
    XCTAssertEqual(run.status, 0, run.errorOutput)
    try run.checkFigureFiles()
    XCTAssertEqual(try run.figures(), try LessonRun.readmeFigures("09-evaluation"), "the README must show exactly the figures the program writes, in order")
    try run.checkNumberMarkers()
    let s = try run.summary()
    let split = try XCTUnwrap(s["split"] as? [String: Int])
    XCTAssertEqual(split["train"]! + split["validation"]! + split["test"]!, 160)
    let auc = try XCTUnwrap(s["auc"] as? Double)
    XCTAssertEqual(auc, try XCTUnwrap(s["auc_pairwise"] as? Double), accuracy: 1e-12, "the trapezoid area equals the Mann-Whitney probability")
    XCTAssertGreaterThan(auc, 0.8, "the fixture's classes are separable enough")
    // The threshold has the lowest validation cost of the grid, so it never costs more than 0.5 there.
    XCTAssertLessThanOrEqual(try XCTUnwrap(s["validation_cost"] as? Double), try XCTUnwrap(s["validation_cost_at_half"] as? Double))
    let paradox = try XCTUnwrap(s["paradox"] as? [String: Double])
    XCTAssertEqual(paradox["always_benign_recall"], 0)
    XCTAssertEqual(try XCTUnwrap(paradox["always_benign_accuracy"]), 1 - paradox["malignant_share"]!, accuracy: 1e-12)
    XCTAssertLessThan(paradox["malignant_share"]!, 0.08)
    let digitsSummary = try XCTUnwrap(s["digits"] as? [String: Any])
    XCTAssertEqual(try XCTUnwrap(digitsSummary["micro_f1"] as? Double), try XCTUnwrap(digitsSummary["accuracy"] as? Double), accuracy: 1e-12, "micro F1 is the accuracy with one label per sample")
    XCTAssertEqual((digitsSummary["per_class_f1"] as? [Any])?.count, 10)

    // scores.csv: a header, one line per test tumour, label 1 = malignant; ties present in the fixture.
    let csv = String(decoding: try XCTUnwrap(FileManager.default.contents(atPath: run.folder + "/scores.csv")), as: UTF8.self)
    let rows = csv.split(separator: "\n").dropFirst().map { $0.split(separator: ",") }
    XCTAssertEqual(csv.split(separator: "\n").first, "score,label")
    XCTAssertEqual(rows.count, split["test"])
    XCTAssertEqual(rows.filter { $0[1] == "1" }.count, split["test_malignant"])
    XCTAssertLessThan(Set(rows.map { $0[0] }).count, rows.count, "the fixture repeats tumours, so some scores tie")

    // The oracle: numpy (and scikit-learn when importable) on scores.csv.
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    let threshold = try XCTUnwrap(s["threshold"] as? Double)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", root + "/scripts/check_metrics.py", run.folder + "/scores.csv", String(format: "%.17g", threshold)]
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    do { try p.run() } catch { throw XCTSkip("python3 is not available: lesson 9's metrics not checked against numpy") }
    let printed = out.fileHandleForReading.readDataToEndOfFile(), problems = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    if p.terminationStatus == 127 { throw XCTSkip("python3 is not available: lesson 9's metrics not checked against numpy") }
    if p.terminationStatus == 3 { throw XCTSkip("numpy is not installed: lesson 9's metrics not checked against it") }
    XCTAssertEqual(p.terminationStatus, 0, String(decoding: problems, as: UTF8.self))
    let oracle = try XCTUnwrap(try JSONSerialization.jsonObject(with: printed) as? [String: Any])
    let keys = ["auc": "auc", "average_precision": "average_precision", "precision": "precision", "recall": "recall", "f1": "f1", "specificity": "specificity", "test_accuracy": "accuracy"]
    for (ours, theirs) in keys {
      XCTAssertEqual(try XCTUnwrap(s[ours] as? Double), try XCTUnwrap(oracle[theirs] as? Double, theirs), accuracy: 1e-9, "\(ours): numpy disagrees")
    }
    if let sklearn = oracle["sklearn"] as? [String: Double] {
      for key in ["auc", "average_precision", "precision", "recall", "f1"] {
        XCTAssertEqual(try XCTUnwrap(s[key] as? Double), try XCTUnwrap(sklearn[key], key), accuracy: 1e-9, "\(key): scikit-learn disagrees")
      }
    } else {
      print("note: scikit-learn is not installed; lesson 9 checked against numpy only")
    }
  }

  func testMissingOrBadDataGetsOneLineAndWritesNothing() throws {
    let missing = try LessonRun.run("09-evaluation", ["--quick", "--data", folder + "/nope.csv", "--digits", digits])
    XCTAssertNotEqual(missing.status, 0)
    XCTAssertEqual(missing.errorOutput.trimmingCharacters(in: .whitespacesAndNewlines), "Error: \(folder!)/nope.csv not found: run make data (or pass --data FILE)")
    XCTAssertFalse(FileManager.default.fileExists(atPath: missing.folder))
    let noDigits = try LessonRun.run("09-evaluation", ["--quick", "--data", table, "--digits", folder + "/none.csv"])
    XCTAssertNotEqual(noDigits.status, 0)
    XCTAssert(noDigits.errorOutput.contains("none.csv not found: run make data (or pass --digits FILE)"), noDigits.errorOutput)
    XCTAssertEqual(noDigits.errorOutput.split(separator: "\n").count, 1, noDigits.errorOutput)
    // A truncated table: the header promises more rows than the file holds.
    let text = try String(contentsOfFile: table, encoding: .utf8)
    try String(text.split(separator: "\n").dropLast(7).joined(separator: "\n") + "\n").write(toFile: table, atomically: true, encoding: .utf8)
    let truncated = try LessonRun.run("09-evaluation", ["--quick", "--data", table, "--digits", digits])
    XCTAssertNotEqual(truncated.status, 0)
    XCTAssert(truncated.errorOutput.contains("breast_cancer.csv: 153 data rows but the header says 160: the file is truncated"), truncated.errorOutput)
    XCTAssertEqual(truncated.errorOutput.split(separator: "\n").count, 1, truncated.errorOutput)
    XCTAssertFalse(FileManager.default.fileExists(atPath: truncated.folder))
    let bad = try LessonRun.run("09-evaluation", ["--quick", "--cost-ratio", "0"])
    XCTAssert(bad.errorOutput.contains("--cost-ratio must be a positive number"), bad.errorOutput)
  }
}

/// Lessons 7 and 8 on a small digits fixture in the data file's format (the tests never need the real set):
/// 300 images of simple class-dependent blobs, so that a network can learn them.
final class DigitsLessonsTests: XCTestCase {
  var data: String!

  override func setUpWithError() throws {
    let dir = NSTemporaryDirectory() + "/digits-lesson-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    var rng = SeededGenerator(seed: 11)
    var pixels: [UInt8] = [], labels: [Int] = []
    for i in 0..<300 {
      let c = i % 10
      for p in 0..<64 {
        // Digit c inks row c % 8 (and column c for c < 8) brightly, plus noise.
        let ink = p / 8 == c % 8 || (c < 8 && p % 8 == c) ? 12 : 0
        pixels.append(UInt8(min(16, ink + Int(rng.next() % 5))))
      }
      labels.append(c)
    }
    data = dir + "/digits.csv"
    try Digits(pixels: pixels, labels: labels).write(to: data)
  }

  override func tearDown() { try? FileManager.default.removeItem(atPath: (data as NSString).deletingLastPathComponent) }

  func quickRun(_ name: String) throws -> LessonRun {
    let run = try LessonRun.run(name, ["--quick", "--data", data])
    XCTAssertEqual(run.status, 0, "\(name) failed: \(run.errorOutput)")
    try run.checkFigureFiles()
    XCTAssertEqual(try run.figures(), try LessonRun.readmeFigures(name), "\(name): the README must show exactly the figures the program writes, in order")
    try run.checkNumberMarkers()
    return run
  }

  func testMLPDigitsQuickRun() throws {
    let run = try quickRun("07-mlp-digits")
    defer { run.remove() }
    let s = try run.summary()
    XCTAssertEqual(s["parameters"] as? Int, 17_226)
    XCTAssertEqual(s["train_images"] as? Int, 240)
    XCTAssertEqual(s["test_images"] as? Int, 60)
    XCTAssertEqual(((s["history"] as? [String: Any])?["train_loss"] as? [Double])?.count, 3)
    XCTAssertGreaterThan(try XCTUnwrap(s["test_accuracy"] as? Double), 0.5, "the fixture's digits are easy")
    // The too-small start does not learn; He's keeps the activations' spread.
    let initialisation = try XCTUnwrap(s["initialisation"] as? [String: Any])
    let small = try XCTUnwrap(initialisation["small"] as? [String: Any]), he = try XCTUnwrap(initialisation["he"] as? [String: Any])
    XCTAssertLessThan(try XCTUnwrap((small["activation_std"] as? [Double])?.last), 1e-4)
    XCTAssertGreaterThan(try XCTUnwrap((he["activation_std"] as? [Double])?.last), 0.1)
    XCTAssertEqual(try XCTUnwrap(small["final_loss"] as? Double), log(10), accuracy: 0.01)
    XCTAssert(run.output.contains("Total params: 17,226"), "the model summary is printed")
  }

  func testRegularisationQuickRun() throws {
    let run = try quickRun("08-regularisation")
    defer { run.remove() }
    let s = try run.summary()
    XCTAssertEqual(s["train_images"] as? Int, 180, "18 training images per digit in the fixture's 60% (fewer than --per-class 30)")
    let remedies = try XCTUnwrap(s["remedies"] as? [String: [String: Any]])
    XCTAssertEqual(Set(remedies.keys), ["baseline", "l2", "dropout", "augmentation", "early_stopping", "smaller"])
    for (name, r) in remedies {
      let (train, val) = (try XCTUnwrap(r["train_accuracy"] as? Double), try XCTUnwrap(r["validation_accuracy"] as? Double))
      XCTAssertEqual(try XCTUnwrap(r["gap"] as? Double), train - val, accuracy: 1e-12, name)
      XCTAssertEqual(((r["history"] as? [String: Any])?["val_loss"] as? [Double])?.count, 4, name)
    }
    let w = try XCTUnwrap(s["weights_rms"] as? [String: Double])
    XCTAssertLessThan(try XCTUnwrap(w["l2"]), try XCTUnwrap(w["baseline"]), "L2 shrinks the weights")
    XCTAssertEqual(remedies["smaller"]?["parameters"] as? Int, 1_210)
  }

  func testBadDigitsFilesGetOneLineBeforeAnyOutput() throws {
    for lesson in ["07-mlp-digits", "08-regularisation"] {
      let missing = try LessonRun.run(lesson, ["--quick", "--data", data + ".nope"])
      XCTAssertNotEqual(missing.status, 0)
      XCTAssert(missing.errorOutput.contains("digits.csv.nope not found: run make data (or pass --data FILE)"), missing.errorOutput)
      XCTAssertEqual(missing.errorOutput.split(separator: "\n").count, 1, missing.errorOutput)
      XCTAssertFalse(FileManager.default.fileExists(atPath: missing.folder))
    }
    let text = try String(contentsOfFile: data, encoding: .utf8)
    try Data(text.prefix(text.count - 20).utf8).write(to: URL(fileURLWithPath: data))
    let truncated = try LessonRun.run("07-mlp-digits", ["--quick", "--data", data])
    XCTAssert(truncated.errorOutput.contains("line 300") && truncated.errorOutput.contains("truncated"), truncated.errorOutput)
    XCTAssertEqual(truncated.errorOutput.split(separator: "\n").count, 1, truncated.errorOutput)
    XCTAssertFalse(FileManager.default.fileExists(atPath: truncated.folder))
    try Data(text.replacingOccurrences(of: "\n", with: ",3\n").utf8).write(to: URL(fileURLWithPath: data))
    let columns = try LessonRun.run("08-regularisation", ["--quick", "--data", data])
    XCTAssert(columns.errorOutput.contains("line 1: 66 values, expected 65"), columns.errorOutput)
  }
}
