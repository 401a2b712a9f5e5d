import Datasets
import Foundation
import Tensors
import XCTest

/// Issue #17's sweep: every program run with a table of bad inputs (flags, files, paths, damaged
/// checkpoints). Each case must exit non-zero with one error line on stderr (ArgumentParser's "Help:" and
/// "Usage:" lines after a flag error are allowed), no crash trace, and leave the output folder's existing files unchanged.
/// No case trains: each fails before or at the first allocation, so the sweep stays fast in debug builds.
final class HostileInputSweepTests: XCTestCase {
  var root: String!

  override func setUpWithError() throws {
    root = NSTemporaryDirectory() + "/neural-lessons-sweep-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
  }

  override func tearDown() { try? FileManager.default.removeItem(atPath: root) }

  /// One bad input: the program, its arguments (`OUT` stands for the case's output folder, added as
  /// `outFlag OUT` when the arguments do not name it), and a few words the message must contain.
  struct Case {
    let program: String
    let args: [String]
    let expect: String
    var outFlag = "--out"
  }

  static let lessons = ["01-neuron", "02-activations", "03-loss-functions", "04-gradient-descent", "05-backpropagation", "06-cnn-cifar10", "07-mlp-digits", "09-evaluation", "10-fast-cifar"]

  func write(_ path: String, _ bytes: [UInt8]) {
    try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    FileManager.default.createFile(atPath: path, contents: Data(bytes))
  }

  /// A small CIFAR-10 folder in the official layout.
  func cifarFixture() throws -> String {
    let folder = root + "/cifar"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    var rng = SeededGenerator(seed: 5)
    for file in CIFAR10.trainFiles + CIFAR10.testFiles {
      let set = CIFAR10(pixels: (0..<(12 * CIFAR10.imageSize)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, labels: (0..<12).map { $0 % 10 })
      try set.write(to: folder + "/" + file)
    }
    return folder
  }

  /// A copy of the fixture whose test_batch.bin is replaced by `make`.
  func cifarVariant(_ name: String, _ make: (String) throws -> Void) throws -> String {
    let source = try cifarFixture(), folder = root + "/cifar-" + name
    if !FileManager.default.fileExists(atPath: folder) { try FileManager.default.copyItem(atPath: source, toPath: folder) }
    try FileManager.default.removeItem(atPath: folder + "/test_batch.bin")
    try make(folder + "/test_batch.bin")
    return folder
  }

  /// A safetensors file with this header and data.
  func safetensors(_ header: String, data: Int) -> [UInt8] {
    var json = Array(header.utf8)
    while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }
    var bytes: [UInt8] = []
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { bytes += $0 }
    return bytes + json + [UInt8](repeating: 0, count: data)
  }

  func testEveryProgramRefusesBadInputCleanly() throws {
    var cases: [Case] = []
    // Paths and flags every lesson shares.
    for lesson in Self.lessons {
      cases.append(Case(program: lesson, args: ["--out", ""], expect: "--out is empty"))
      cases.append(Case(program: lesson, args: ["--out", "/"], expect: "is the root folder"))
      cases.append(Case(program: lesson, args: ["--out", "//"], expect: "is the root folder"))
      cases.append(Case(program: lesson, args: ["--format", "jpg"], expect: "jpg"))
      cases.append(Case(program: lesson, args: ["--seed=-1"], expect: "-1"))
    }
    // Sizes that overflow or cannot be allocated.
    for lesson in ["02-activations", "05-backpropagation"] {
      cases.append(Case(program: lesson, args: ["--quick", "--hidden", "100000"], expect: "--hidden 100000 is too large: at most 4096"))
      cases.append(Case(program: lesson, args: ["--quick", "--hidden", "9223372036854775807"], expect: "at most 4096"))
      cases.append(Case(program: lesson, args: ["--quick", "--hidden=99999999999999999999999"], expect: "is invalid"))
      cases.append(Case(program: lesson, args: ["--lr", "1e40"], expect: "--lr 1e40 is too large"))
    }
    for lesson in ["01-neuron", "02-activations", "05-backpropagation", "06-cnn-cifar10", "07-mlp-digits"] {
      cases.append(Case(program: lesson, args: ["--epochs", "9223372036854775807"], expect: "at most 100000"))
    }
    cases += [
      Case(program: "04-gradient-descent", args: ["--steps", "9223372036854775807"], expect: "--steps 9223372036854775807 is too large"),
      Case(program: "03-loss-functions", args: ["--steps", "2000000"], expect: "at most 1000000"),
      Case(program: "06-cnn-cifar10", args: ["--batch-size", "9223372036854775807"], expect: "--batch-size 9223372036854775807 is too large"),
      Case(program: "06-cnn-cifar10", args: ["--train-subset", "99999999999"], expect: "at most 10000000"),
    ]
    // Lesson 4's CSV: not text, not a file, a device, numbers too large to square.
    let csv = root + "/data"
    write(csv + "/latin1.csv", Array("x,y\n1,2\n3,4\n".utf8) + [0xE9, 0x0A])
    write(csv + "/huge.csv", Array("x,y\n1e200,1\n2,3\n".utf8))
    try FileManager.default.createDirectory(atPath: csv + "/folder.csv", withIntermediateDirectories: true)
    cases += [
      Case(program: "04-gradient-descent", args: ["--csv", csv + "/latin1.csv"], expect: "is not UTF-8"),
      Case(program: "04-gradient-descent", args: ["--csv", csv + "/folder.csv"], expect: "is a folder"),
      Case(program: "04-gradient-descent", args: ["--csv", "/dev/zero"], expect: "is a device"),
      Case(program: "04-gradient-descent", args: ["--csv", csv + "/huge.csv"], expect: "too large"),
      Case(program: "04-gradient-descent", args: ["--csv", csv + "/missing.csv"], expect: "cannot be read"),
    ]
    // Lesson 6's data: a folder, a device or a 3 GB file where test_batch.bin should be.
    let asFolder = try cifarVariant("folder") { try FileManager.default.createDirectory(atPath: $0, withIntermediateDirectories: false) }
    let asDevice = try cifarVariant("device") { try FileManager.default.createSymbolicLink(atPath: $0, withDestinationPath: "/dev/zero") }
    let tooLarge = try cifarVariant("huge") { path in
      FileManager.default.createFile(atPath: path, contents: nil)
      XCTAssertEqual(truncate(path, 3 << 30), 0, "a sparse 3 GB file")
    }
    cases += [
      Case(program: "06-cnn-cifar10", args: ["--quick", "--data", asFolder], expect: "is a folder"),
      Case(program: "06-cnn-cifar10", args: ["--quick", "--data", asDevice], expect: "is a device"),
      Case(program: "06-cnn-cifar10", args: ["--quick", "--data", tooLarge], expect: "more than a CIFAR-10 batch"),
      Case(program: "10-fast-cifar", args: ["--quick", "--data", asFolder], expect: "is a folder"),
      Case(program: "10-fast-cifar", args: ["--widths", "32,64"], expect: "--widths"),
      Case(program: "10-fast-cifar", args: ["--widths", "32,x,64"], expect: "--widths"),
      Case(program: "10-fast-cifar", args: ["--epochs", "0"], expect: "--epochs"),
      Case(program: "10-fast-cifar", args: ["--epochs", "nan"], expect: "--epochs"),
      Case(program: "10-fast-cifar", args: ["--batch-size", "1"], expect: "--batch-size"),
      Case(program: "10-fast-cifar", args: ["--lr", "-1"], expect: "--lr"),
      Case(program: "10-fast-cifar", args: ["--ablation-epochs", "-2"], expect: "--ablation-epochs"),
    ]
    // Lesson 6 resuming from damaged checkpoints (written into the case's output folder below).
    let data = try cifarFixture()
    let damaged: [(String, [UInt8], String)] = [
      ("overflowing shape", safetensors(#"{"model.0.weight":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,16]}}"#, data: 16), "shape"),
      ("offsets at Int's ends", safetensors(#"{"model.0.weight":{"dtype":"F32","shape":[4],"data_offsets":[-9223372036854775808,9223372036854775807]}}"#, data: 16), "offsets"),
      ("trailing junk", safetensors(#"{"model.0.weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: 64), "trailing"),
      ("duplicate key", safetensors(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#, data: 16), "twice"),
      ("not JSON", safetensors("{nope", data: 0), "not a JSON object"),
    ]
    var checkpoints: [Int: [UInt8]] = [:]
    for (_, bytes, expect) in damaged {
      checkpoints[cases.count] = bytes
      cases.append(Case(program: "06-cnn-cifar10", args: ["--quick", "--data", data, "--resume"], expect: expect))
    }
    // gallery, bench and site.
    cases += [
      Case(program: "gallery", args: ["--scale", "0.001", "--filter", "line"], expect: "--scale"),
      Case(program: "gallery", args: ["--out", ""], expect: "--out is empty"),
      Case(program: "gallery", args: ["--out", "/"], expect: "root folder"),
      Case(program: "gallery", args: ["--filter", "no-such-example"], expect: "no example matches"),
      Case(program: "bench", args: ["--out", ""], expect: "--out is empty"),
      Case(program: "bench", args: ["--min-time", "nan"], expect: "--min-time"),
      Case(program: "bench", args: ["--quick", "--filter", "no-such-case"], expect: "no benchmark case matches"),
      Case(program: "bench", args: ["--quick", "--out", "/proc/no-such-folder"], expect: "not writable"),
      Case(program: "site", args: ["--site", ""], expect: "--site is empty", outFlag: "--site"),
      Case(program: "site", args: ["--site", "/"], expect: "root folder", outFlag: "--site"),
      Case(program: "site", args: ["--lessons", root + "/no-such-lessons"], expect: "does not exist", outFlag: "--site"),
    ]
    try sweep(cases, checkpoints: checkpoints)
  }

  /// A lesson that fails after it has drawn figures (lesson 6 draws its samples and its network, then finds
  /// the checkpoint it is to resume from damaged) leaves the earlier run's figures as they were, and no
  /// staging folder behind.
  func testAFailingRunReplacesNoFigure() throws {
    let data = try cifarFixture(), out = root + "/06"
    for name in ["samples", "network"] {
      write(out + "/\(name).png", Array("the earlier run's \(name) figure".utf8))
      write(out + "/\(name).svg", Array("<svg/>".utf8))
    }
    write(out + "/checkpoint.safetensors", safetensors(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: 9))
    let before = try snapshot(out)
    let result = try Self.run("06-cnn-cifar10", ["--quick", "--data", data, "--resume", "--out", out], timeout: 300)
    XCTAssertNotEqual(result.status, 0, result.stderr)
    XCTAssert(result.stderr.contains("damaged checkpoint"), result.stderr)
    XCTAssertEqual(try snapshot(out), before, "the failed run changed the output folder")
  }

  /// Points exactly on a line (any two-row file) are a perfect fit: a result, not an error.
  func testAPerfectFitIsAResult() throws {
    let csv = root + "/two.csv", out = root + "/04-perfect"
    write(csv, Array("x,y\n0,1\n1,3\n".utf8))
    let result = try Self.run("04-gradient-descent", ["--quick", "--format", "svg", "--csv", csv, "--out", out], timeout: 300)
    XCTAssertEqual(result.status, 0, result.stderr)
    XCTAssert(FileManager.default.fileExists(atPath: out + "/fit.svg"))
  }

  /// A CSV of 50,000 rows: the run ends with figures of normal size, and the fit figure says it draws a sample.
  func testALargeCSVGivesFiguresOfNormalSize() throws {
    var text = "x,y\n"
    for i in 0..<50_000 { let x = Double(i % 997) / 100 - 5; text += "\(x),\(2 * x + 1 + Double((i * 7919) % 101) / 50 - 1)\n" }
    let csv = root + "/large.csv", out = root + "/04-large"
    write(csv, Array(text.utf8))
    let start = Date()
    let result = try Self.run("04-gradient-descent", ["--quick", "--format", "svg", "--csv", csv, "--out", out], timeout: 600)
    XCTAssertEqual(result.status, 0, result.stderr)
    XCTAssertLessThan(Date().timeIntervalSince(start), 300)
    for (name, data) in try snapshot(out) where name.hasSuffix(".svg") { XCTAssertLessThan(data.count, 3_000_000, "\(name) is \(data.count) bytes") }
    let fit = String(decoding: try XCTUnwrap(FileManager.default.contents(atPath: out + "/fit.svg")), as: UTF8.self)
    XCTAssertFalse(fit.isEmpty)
    XCTAssert(result.stderr.isEmpty || !result.stderr.contains("Fatal"), result.stderr)
  }

  /// Rewrites a safetensors file's `__metadata__` (the tensors stay as they are).
  func rewriteMetadata(_ path: String, _ change: (inout [String: String]) -> Void) throws {
    let bytes = [UInt8](try XCTUnwrap(FileManager.default.contents(atPath: path)))
    let n = Int(bytes[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
    var header = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + n)])) as? [String: Any])
    var metadata = header["__metadata__"] as? [String: String] ?? [:]
    change(&metadata)
    header["__metadata__"] = metadata
    var json = [UInt8](try JSONSerialization.data(withJSONObject: header))
    while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }
    var out: [UInt8] = []
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { out += $0 }
    write(path, out + json + bytes[(8 + n)...])
  }

  /// Lesson 6's checkpoint: a fresh run does not replace another run's checkpoint unless asked, and a
  /// checkpoint whose Adam step count or history is damaged is refused by --resume in one line.
  func testLesson6KeepsAnotherRunsCheckpointAndRefusesDamagedState() throws {
    let data = try cifarFixture(), out = root + "/06-checkpoint"
    let base = ["--quick", "--data", data, "--epochs", "1", "--batch-size", "16", "--format", "svg", "--out", out]
    let first = try Self.run("06-cnn-cifar10", base, timeout: 600)
    XCTAssertEqual(first.status, 0, first.stderr)
    let checkpoint = out + "/checkpoint.safetensors"
    let saved = try XCTUnwrap(FileManager.default.contents(atPath: checkpoint))
    // Another seed is another run: refused, the checkpoint kept, and the message says how to go on.
    let other = try Self.run("06-cnn-cifar10", base + ["--seed", "7"], timeout: 600)
    XCTAssertNotEqual(other.status, 0)
    XCTAssert(other.stderr.contains("another run") && other.stderr.contains("--overwrite-checkpoint") && other.stderr.contains("--resume"), other.stderr)
    XCTAssertEqual(FileManager.default.contents(atPath: checkpoint), saved, "the other run's checkpoint was replaced")
    // Damaged resume state.
    for (change, expected) in [
      ({ (m: inout [String: String]) in m["adam_t"] = String(Int.max) }, "Adam step count"),
      ({ (m: inout [String: String]) in m["history"] = m["history"]!.replacingOccurrences(of: "\"epochSeconds\":[", with: "\"epochSeconds\":[1,") }, "unequal lengths"),
    ] as [((inout [String: String]) -> Void, String)] {
      FileManager.default.createFile(atPath: checkpoint, contents: saved)
      try rewriteMetadata(checkpoint, change)
      let damaged = try XCTUnwrap(FileManager.default.contents(atPath: checkpoint))
      let resumed = try Self.run("06-cnn-cifar10", base + ["--epochs", "2", "--resume"], timeout: 600)
      XCTAssertNotEqual(resumed.status, 0, expected)
      XCTAssert(resumed.stderr.contains("damaged checkpoint") && resumed.stderr.contains(expected), resumed.stderr)
      XCTAssertEqual(resumed.stderr.split(separator: "\n").count, 1, resumed.stderr)
      XCTAssertEqual(FileManager.default.contents(atPath: checkpoint), damaged)
    }
  }

  /// The seed in summary.json is the seed given, to the last digit (a Double would round it above 2^53).
  func testALargeSeedIsStoredExactly() throws {
    let out = root + "/04"
    let result = try Self.run("04-gradient-descent", ["--quick", "--format", "svg", "--seed", "18446744073709551615", "--out", out], timeout: 300)
    XCTAssertEqual(result.status, 0, result.stderr)
    let summary = String(decoding: try XCTUnwrap(FileManager.default.contents(atPath: out + "/summary.json")), as: UTF8.self)
    XCTAssert(summary.contains("\"seed\": 18446744073709551615"), summary)
    XCTAssertEqual(try snapshot(out).keys.filter { $0.hasPrefix(".") }, [], "no hidden files left")
  }

  /// Interrupted while writing figures, a program leaves none of its temporaries (ours or Foundation's)
  /// in the output folder.
  func testAnInterruptedRunLeavesNoTemporaries() throws {
    for sig in [SIGINT, SIGTERM] {
      let out = root + "/gallery-\(sig)"
      let p = Process()
      p.executableURL = LessonRun.productsDirectory.appendingPathComponent("gallery")
      p.arguments = ["--out", out, "--format", "both", "--scale", "6"]
      p.standardOutput = FileHandle.nullDevice
      p.standardError = FileHandle.nullDevice
      try p.run()
      // Wait for the first figures, then interrupt in the middle of the run.
      let deadline = Date().addingTimeInterval(60)
      while p.isRunning && Date() < deadline && ((try? FileManager.default.contentsOfDirectory(atPath: out))?.count ?? 0) < 3 { usleep(2_000) }
      kill(p.processIdentifier, sig)
      p.waitUntilExit()
      XCTAssertEqual(p.terminationReason, .uncaughtSignal, "the process ends by the signal it got")
      let hidden = ((try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []).filter { $0.hasPrefix(".") }
      XCTAssertEqual(hidden, [], "signal \(sig) left temporaries behind")
    }
  }

  /// Runs the cases, each with an output folder holding earlier results, and checks each outcome.
  func sweep(_ cases: [Case], checkpoints: [Int: [UInt8]], file: StaticString = #filePath, line: UInt = #line) throws {
    var failures: [String] = []
    for (i, c) in cases.enumerated() {
      let out = root + "/out-\(i)"
      write(out + "/summary.json", Array("{\"earlier\": true}\n".utf8))
      write(out + "/fit.png", Array("an earlier figure".utf8))
      write(out + "/results.json", Array("{\"earlier results\": 1}".utf8))
      if let checkpoint = checkpoints[i] { write(out + "/checkpoint.safetensors", checkpoint) }
      let before = try snapshot(out)
      let args = c.args.contains(c.outFlag) ? c.args : c.args + [c.outFlag, out]
      let result = try Self.run(c.program, args, timeout: 120)
      let what = "\(c.program) \(args.map { $0.isEmpty ? "\"\"" : $0 }.joined(separator: " "))"
      let lines = result.stderr.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("Usage: ") && !$0.hasPrefix("Help: ") && !$0.hasPrefix("  See '") && !$0.isEmpty }
      if result.timedOut { failures.append("\(what): still running after 120 s"); continue }
      if result.signalled { failures.append("\(what): killed by signal \(result.status) (a crash): \(result.stderr.prefix(300))"); continue }
      if result.status == 0 { failures.append("\(what): exit status 0"); continue }
      if lines.count != 1 { failures.append("\(what): \(lines.count) lines on stderr: \(result.stderr.prefix(500))"); continue }
      if result.stderr.contains("Fatal error") || result.stderr.contains("Stack dump") || result.stderr.contains("stack trace") {
        failures.append("\(what): a crash trace: \(result.stderr.prefix(300))")
        continue
      }
      if !lines[0].contains(c.expect) { failures.append("\(what): the message lacks '\(c.expect)': \(lines[0])") }
      let after = try snapshot(out)
      if after != before {
        let changed = Set(before.keys).union(after.keys).filter { before[$0] != after[$0] }.sorted()
        failures.append("\(what): changed the output folder: \(changed)")
      }
    }
    XCTAssertEqual(failures, [], "\(failures.count) of \(cases.count) cases failed:\n" + failures.joined(separator: "\n"), file: file, line: line)
    print("hostile-input sweep: \(cases.count) cases")
  }

  /// Every file under `folder` (hidden ones too) with its bytes.
  func snapshot(_ folder: String) throws -> [String: Data] {
    var out: [String: Data] = [:]
    guard let e = FileManager.default.enumerator(atPath: folder) else { return out }
    while let path = e.nextObject() as? String {
      var isFolder: ObjCBool = false
      FileManager.default.fileExists(atPath: folder + "/" + path, isDirectory: &isFolder)
      out[path] = isFolder.boolValue ? Data("<folder>".utf8) : (FileManager.default.contents(atPath: folder + "/" + path) ?? Data())
    }
    return out
  }

  struct Result {
    let status: Int32
    let signalled: Bool
    let timedOut: Bool
    let stderr: String
  }

  /// Runs a built executable with a time limit; stdout is discarded.
  static func run(_ program: String, _ args: [String], timeout: TimeInterval) throws -> Result {
    let p = Process()
    p.executableURL = LessonRun.productsDirectory.appendingPathComponent(program)
    p.arguments = args
    p.currentDirectoryURL = URL(fileURLWithPath: NSTemporaryDirectory())
    let err = Pipe()
    p.standardOutput = FileHandle.nullDevice
    p.standardError = err
    try p.run()
    final class Box: @unchecked Sendable { var data = Data() }
    let box = Box()
    let handle = err.fileHandleForReading
    let reader = Thread { box.data = handle.readDataToEndOfFile() }
    reader.start()
    let deadline = Date().addingTimeInterval(timeout)
    while p.isRunning && Date() < deadline { usleep(20_000) }
    let timedOut = p.isRunning
    if timedOut { p.terminate() }
    p.waitUntilExit()
    while !reader.isFinished { usleep(5_000) }
    return Result(status: p.terminationStatus, signalled: p.terminationReason == .uncaughtSignal, timedOut: timedOut, stderr: String(decoding: box.data, as: UTF8.self))
  }
}
