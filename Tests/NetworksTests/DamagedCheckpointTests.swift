import Networks
import Tensors
import XCTest

/// Checkpoints that pass the header checks but are damaged inside: every one is a "damaged checkpoint" error
/// naming the file and what is wrong, never a trap.
final class DamagedCheckpointTests: XCTestCase {
  var folder: String!

  override func setUpWithError() throws {
    folder = NSTemporaryDirectory() + "/neural-lessons-damaged-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
  }
  override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

  /// A safetensors file with this header text and these data bytes.
  func file(_ header: String, data: [UInt8] = [], name: String = "bad") -> String {
    var json = Array(header.utf8)
    while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }
    var bytes: [UInt8] = []
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { bytes += $0 }
    bytes += json + data
    let path = folder + "/\(name).safetensors"
    FileManager.default.createFile(atPath: path, contents: Data(bytes))
    return path
  }

  func assertDamaged(_ path: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertThrowsError(try Checkpoint.load(path), file: file, line: line) { error in
      let text = "\(error)"
      XCTAssert(text.contains("damaged checkpoint") && text.contains(path) && text.contains(expected), text, file: file, line: line)
      XCTAssertFalse(text.contains("\n"), "one line: \(text)", file: file, line: line)
    }
  }

  let sixteen = [UInt8](repeating: 0, count: 16)

  func testShapesWhoseSizeOverflowsAreRefused() {
    assertDamaged(file(#"{"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,16]}}"#, data: sixteen), "shape")
    assertDamaged(file(#"{"w":{"dtype":"F32","shape":[9223372036854775807,9223372036854775807],"data_offsets":[0,16]}}"#, data: sixteen), "shape")
    assertDamaged(file(#"{"w":{"dtype":"F32","shape":[-4,-1],"data_offsets":[0,16]}}"#, data: sixteen), "shape")
  }

  func testOffsetsNearTheEndsOfIntAreRefused() {
    assertDamaged(file(#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[-9223372036854775808,9223372036854775807]}}"#, data: sixteen), "offsets")
    assertDamaged(file(#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[9223372036854775791,9223372036854775807]}}"#, data: sixteen), "truncated")
    assertDamaged(file(#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[16,0]}}"#, data: sixteen), "offsets")
  }

  func testOverlapsGapsAndTrailingJunkAreRefused() {
    assertDamaged(file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, data: sixteen), "overlaps")
    assertDamaged(file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#, data: sixteen), "gap")
    assertDamaged(file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: sixteen), "trailing")
  }

  func testDuplicateNamesAreRefused() {
    assertDamaged(file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#, data: sixteen), "twice")
  }

  func testMetadataThatIsNotStringsIsRefused() {
    let path = file(#"{"__metadata__":{"epoch":3},"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: sixteen)
    XCTAssertThrowsError(try Checkpoint.metadata(path)) { XCTAssert("\($0)".contains("damaged checkpoint"), "\($0)") }
  }

  func testFoldersAndDevicesAreNotReadAsCheckpoints() {
    XCTAssertThrowsError(try Checkpoint.load(folder)) { XCTAssert("\($0)".contains("a folder"), "\($0)") }
    XCTAssertThrowsError(try Checkpoint.load("/dev/zero")) { XCTAssert("\($0)".contains("not a regular file"), "\($0)") }
  }

  func testNonFiniteWeightsAreRefusedWhenLoadingAModel() throws {
    var rng = SeededGenerator(seed: 1)
    let model = Sequential([try Dense(2, 2, rng: &rng)])
    model.parameters[0].data[1] = .nan
    let path = folder + "/nan.safetensors"
    try model.save(to: path)
    XCTAssertThrowsError(try model.load(from: path)) { XCTAssert("\($0)".contains("damaged checkpoint") && "\($0)".contains("'0.weight' holds nan"), "\($0)") }
  }

  func testHistoriesOfUnequalLengthsAreRefused() throws {
    let json = #"{"trainLoss":[1,0.5],"trainAccuracy":[0.1],"validationLoss":[null,null],"validationAccuracy":[null,null],"epochSeconds":[1,1]}"#
    XCTAssertThrowsError(try History.decode(json: json)) { XCTAssert("\($0)".contains("unequal lengths"), "\($0)") }
    XCTAssertThrowsError(try History.decode(json: "{")) { XCTAssertFalse("\($0)".isEmpty) }
    var h = History()
    h.trainLoss = [1]; h.trainAccuracy = [0.5]; h.validationLoss = [nil]; h.validationAccuracy = [nil]; h.epochSeconds = [1]; h.validationSeconds = [0]
    XCTAssertEqual(try History.decode(json: String(decoding: try JSONEncoder().encode(h), as: UTF8.self)), h)
  }

  func testAnAdamStepCountOfIntMaxNeitherTrapsNorIsAccepted() throws {
    let p = try Tensor([1, 2], shape: [2], requiresGrad: true)
    let adam = try Adam([p])
    let state = Dictionary(uniqueKeysWithValues: try adam.stateTensors())
    XCTAssertThrowsError(try adam.restoreState(state, step: Int.max)) { XCTAssertEqual($0 as? OptimizerStateError, .badStep(Int.max, optimizer: "Adam", max: Adam.maxStep)) }
    XCTAssertThrowsError(try adam.restoreState(state, step: -1))
    XCTAssertEqual(adam.t, 0, "a refused step count changes nothing")
    try adam.restoreState(state, step: 5)
    XCTAssertEqual(adam.t, 5)
    try adam.restoreState(state, step: Adam.maxStep)  // the largest accepted: the next step saturates instead of trapping
    p.grad = [0.1, 0.1]
    adam.step()
    XCTAssertEqual(adam.t, Adam.maxStep)
    XCTAssert(p.data.allSatisfy(\.isFinite))
  }

  func testACheckpointOfAnotherOrLongerRunIsNotReplacedSilently() throws {
    let path = folder + "/checkpoint.safetensors"
    try Checkpoint.checkReplaceable(path, run: "seed 1", epochs: 5, how: "pass --overwrite")  // nothing there yet
    try Checkpoint.save([("w", try Tensor([1], shape: [1]))], to: path, metadata: ["epoch": "10", "run": "seed 1"])
    XCTAssertThrowsError(try Checkpoint.checkReplaceable(path, run: "seed 2", epochs: 20, how: "pass --overwrite")) {
      XCTAssert("\($0)".contains("another run (seed 1)") && "\($0)".contains("--resume") && "\($0)".contains("--overwrite"), "\($0)")
    }
    XCTAssertThrowsError(try Checkpoint.checkReplaceable(path, run: "seed 1", epochs: 5, how: "pass --overwrite")) {
      XCTAssert("\($0)".contains("holds 10 epochs, more than the 5"), "\($0)")
    }
    try Checkpoint.checkReplaceable(path, run: "seed 1", epochs: 10, how: "pass --overwrite")  // the same run again
    FileManager.default.createFile(atPath: path, contents: Data("junk".utf8))
    try Checkpoint.checkReplaceable(path, run: "seed 2", epochs: 1, how: "pass --overwrite")  // damaged: not a result
  }
}
