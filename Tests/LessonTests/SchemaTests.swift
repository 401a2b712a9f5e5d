import Foundation
import XCTest

/// summary.json and history.json against docs/schema (through scripts/check_schema.py and Python's jsonschema;
/// skipped without them). Every lesson's own test checks its quick run's files too (LessonRun.checkNumberMarkers).
final class SchemaTests: XCTestCase {
  /// Quick runs of lessons that train with the Trainer (1, 5) and by hand (4) write a summary.json and a
  /// history.json that the schemas accept, with one entry per epoch.
  func testQuickRunsMatchTheSchemas() throws {
    var folders: [String] = []
    defer { for f in folders { try? FileManager.default.removeItem(atPath: f) } }
    for (name, run) in [("01-neuron", "blobs"), ("04-gradient-descent", "gradient_descent"), ("05-backpropagation", nil)] {
      let r = try LessonRun.run(name, ["--quick", "--format", "png"])
      folders.append(r.folder)
      XCTAssertEqual(r.status, 0, "\(name): \(r.errorOutput)")
      let data = try XCTUnwrap(FileManager.default.contents(atPath: r.folder + "/history.json"), "\(name) wrote no history.json")
      let history = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
      let epochs = try XCTUnwrap(history["epoch"] as? [Int])
      XCTAssertEqual(epochs.first, 1)
      XCTAssertEqual((history["train_loss"] as? [Double])?.count, epochs.count, "\(name): a train loss per epoch")
      XCTAssertEqual(history["run"] as? String, run, name)
      let summary = try r.summary()
      if let e = summary["epochs"] as? Int, name != "04-gradient-descent" { XCTAssertEqual(e, epochs.count, name) }
    }
    XCTAssertEqual(try LessonRun.schemaProblems(folders: folders), "")
  }

  /// The check fails on what other tools could not read: a key with a space or a capital (at any depth), a
  /// missing common key, an accuracy in percent, and a history whose lists differ in length or whose epochs
  /// do not count from 1.
  func testTheSchemasRejectBadFiles() throws {
    let folder = NSTemporaryDirectory() + "/neural-lessons-schema-\(getpid())"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let good = #"{"lesson": "01-neuron", "seed": 42, "quick": true, "figures": ["loss"], "run_seconds": 0.5, "test_accuracy": 0.9}"#
    let history = #"{"epoch": [1, 2], "train_loss": [0.7, 0.5], "train_accuracy": [0.5, 0.75], "validation_loss": [null, null], "validation_accuracy": [null, null], "epoch_seconds": [0.01, 0.01]}"#
    func problems(_ summary: String, _ history: String? = nil) throws -> String {
      try Data(summary.utf8).write(to: URL(fileURLWithPath: folder + "/summary.json"))
      try? FileManager.default.removeItem(atPath: folder + "/history.json")
      if let history { try Data(history.utf8).write(to: URL(fileURLWithPath: folder + "/history.json")) }
      return try LessonRun.schemaProblems(folders: [folder])
    }
    XCTAssertEqual(try problems(good, history), "")
    XCTAssertTrue(try problems(good.replacingOccurrences(of: "\"test_accuracy\"", with: "\"test accuracy\"")).contains("test accuracy"))
    XCTAssertTrue(try problems(good.replacingOccurrences(of: "0.9}", with: #"{"perClass": 1}}"#)).contains("test_accuracy"))
    XCTAssertTrue(try problems(good.replacingOccurrences(of: ", \"run_seconds\": 0.5", with: "")).contains("run_seconds"))
    XCTAssertTrue(try problems(good.replacingOccurrences(of: "0.9}", with: "90}")).contains("test_accuracy"))
    XCTAssertTrue(try problems(good, history.replacingOccurrences(of: "[0.7, 0.5]", with: "[0.7]")).contains("train_loss"))
    XCTAssertTrue(try problems(good, history.replacingOccurrences(of: "[1, 2]", with: "[0, 1]")).contains("epoch"))
    XCTAssertTrue(try problems(good, history.replacingOccurrences(of: "\"epoch_seconds\"", with: "\"epochSeconds\"")).contains("epoch"))
  }
}
