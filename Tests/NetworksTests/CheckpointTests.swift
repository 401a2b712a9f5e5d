import Networks
import Tensors
import XCTest

final class CheckpointTests: XCTestCase {
  var folder: String!

  override func setUp() {
    folder = NSTemporaryDirectory() + "/neural-lessons-checkpoints-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
  }
  override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

  func model(seed: UInt64) throws -> Sequential {
    var rng = SeededGenerator(seed: seed)
    return Sequential([try Dense(3, 4, rng: &rng), Activation(.relu), try Dense(4, 2, rng: &rng)])
  }

  func testRoundTripIsBitForBit() throws {
    let awkward: [Float] = [0, -0.0, .nan, .infinity, -.infinity, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 1 / 3]
    let tensors = [("awkward", try Tensor(awkward, shape: [2, 4])), ("scalar", Tensor(scalar: 7)), ("empty", try Tensor.zeros([0, 3]))]
    let path = folder + "/a.safetensors"
    try Checkpoint.save(tensors, to: path, metadata: ["lesson": "test"])
    let loaded = try Checkpoint.load(path)
    XCTAssertEqual(loaded.map(\.0), ["awkward", "scalar", "empty"])
    XCTAssertEqual(loaded[0].1.data.map(\.bitPattern), awkward.map(\.bitPattern))
    XCTAssertEqual(loaded[0].1.shape, [2, 4])
    XCTAssertEqual(loaded[1].1.shape, [])
    XCTAssertEqual(loaded[2].1.shape, [0, 3])
    // The header length is little-endian and the header padded to 8 bytes.
    let bytes = [UInt8](FileManager.default.contents(atPath: path)!)
    let n = Int(bytes[0]) | Int(bytes[1]) << 8
    XCTAssertEqual(n % 8, 0)
    XCTAssertEqual(bytes.count, 8 + n + 8 * 4 + 4)
  }

  func testModelSaveAndLoad() throws {
    let a = try model(seed: 1), b = try model(seed: 2)
    let path = folder + "/model.safetensors"
    try a.save(to: path)
    XCTAssertNotEqual(a.parameters[0].data, b.parameters[0].data)
    try b.load(from: path)
    for (p, q) in zip(a.parameters, b.parameters) { XCTAssertEqual(p.data.map(\.bitPattern), q.data.map(\.bitPattern)) }
  }

  func testDamagedFilesAreRefused() throws {
    let path = folder + "/model.safetensors"
    try model(seed: 1).save(to: path)
    let bytes = FileManager.default.contents(atPath: path)!
    for cut in [0, 4, 20, bytes.count - 3] {
      let damaged = folder + "/cut-\(cut).safetensors"
      FileManager.default.createFile(atPath: damaged, contents: bytes.prefix(cut))
      XCTAssertThrowsError(try Checkpoint.load(damaged)) { error in
        XCTAssert("\(error)".contains("truncated") || "\(error)".contains("not safetensors") || "\(error)".contains("not a JSON"), "cut \(cut): \(error)")
      }
    }
    XCTAssertThrowsError(try Checkpoint.load(folder + "/missing.safetensors")) { XCTAssert("\($0)".contains("cannot be read")) }
  }

  func testMismatchedModelIsRefused() throws {
    let path = folder + "/model.safetensors"
    try model(seed: 1).save(to: path)
    var rng = SeededGenerator(seed: 3)
    let other = Sequential([try Dense(3, 5, rng: &rng), Activation(.relu), try Dense(5, 2, rng: &rng)])
    XCTAssertThrowsError(try other.load(from: path)) { error in
      XCTAssert("\(error)".contains("'0.weight' has shape [3, 4] but the model's is [3, 5]"), "\(error)")
    }
    let deeper = Sequential([try Dense(3, 4, rng: &rng), try Dense(4, 2, rng: &rng), try Dense(2, 2, rng: &rng)])
    XCTAssertThrowsError(try deeper.load(from: path)) { XCTAssert("\($0)".contains("no '1.weight'"), "\($0)") }
  }

  /// The file opens in Python's safetensors when it is installed.
  func testPythonReadsTheFile() throws {
    let path = folder + "/py.safetensors"
    try Checkpoint.save([("w", try Tensor([1.5, -2, 3.25, 0], shape: [2, 2]))], to: path)
    let script = "import sys\ntry:\n from safetensors.numpy import load_file\nexcept ImportError:\n sys.exit(77)\nt = load_file(sys.argv[1])['w']\nprint(t.dtype, t.shape, t.tolist())"
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", script, path]
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = FileHandle.nullDevice
    do { try p.run() } catch { throw XCTSkip("python3 is not available") }
    p.waitUntilExit()
    if p.terminationStatus == 77 { throw XCTSkip("python3 has no safetensors package") }
    let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    XCTAssertEqual(out.trimmingCharacters(in: .whitespacesAndNewlines), "float32 (2, 2) [[1.5, -2.0], [3.25, 0.0]]")
  }
}
