import FigureTesting
import Foundation
import XCTest

/// Each lesson run end to end in quick mode: its files, its numbers, a figure baseline, its README.
final class LessonTests: XCTestCase {
  func quickRun(_ name: String) throws -> LessonRun {
    let run = try LessonRun.run(name, ["--quick"])
    XCTAssertEqual(run.status, 0, "\(name) failed: \(run.errorOutput)")
    try run.checkFigureFiles()
    XCTAssertEqual(try run.figures(), try LessonRun.readmeFigures(name), "\(name): the README must show exactly the figures the program writes, in order")
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
    try run.checkBaseline("blobs-before-after")
    try run.checkBaseline("neuron-diagram")
  }

  func testActivations() throws {
    let run = try quickRun("02-activations")
    defer { run.remove() }
    let s = try run.summary()
    let norms = try XCTUnwrap(s["gradient_norms"] as? [String: [Double]])
    let sigmoid = try XCTUnwrap(norms["sigmoid"]), relu = try XCTUnwrap(norms["ReLU"])
    XCTAssertEqual(sigmoid.count, 10)
    XCTAssertLessThan(sigmoid[0], sigmoid[9] / 100, "sigmoid's gradient vanishes towards the input")
    XCTAssertGreaterThan(relu[0], relu[9] / 10, "ReLU with He initialisation keeps it")
    XCTAssertEqual((s["moons"] as? [String: Any])?.count, 8)
    try run.checkBaseline("activation-curves")
  }

  func testLossFunctions() throws {
    let run = try quickRun("03-loss-functions")
    defer { run.remove() }
    let s = try run.summary()
    let fits = try XCTUnwrap(s["line_fits"] as? [String: [String: Double]])
    // Outliers drag the MSE line up more than the MAE line.
    XCTAssertGreaterThan(try XCTUnwrap(fits["MSE"]?["b"]), try XCTUnwrap(fits["MAE"]?["b"]) + 0.2)
    let example = try XCTUnwrap(s["softmax_example"] as? [String: Any])
    XCTAssertEqual(try XCTUnwrap(example["loss"] as? Double), 0.4170, accuracy: 1e-3)
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
