import Tensors
import XCTest

final class RandomTests: XCTestCase {
  func testSplitMix64MatchesItsReferenceOutput() {
    // Reference values of SplitMix64 seeded with 1234567 (from the published C implementation).
    var g = SeededGenerator(seed: 1_234_567)
    XCTAssertEqual(g.next(), 6_457_827_717_110_365_317)
    XCTAssertEqual(g.next(), 3_203_168_211_198_807_973)
    XCTAssertEqual(g.next(), 9_817_491_932_198_370_423)
  }

  func testSameSeedSameTensors() throws {
    var a = SeededGenerator(seed: 7), b = SeededGenerator(seed: 7)
    XCTAssertEqual(try Tensor.normal([100], using: &a).data, try Tensor.normal([100], using: &b).data)
    var c = SeededGenerator(seed: 8)
    XCTAssertNotEqual(try Tensor.uniform([10], using: &a).data, try Tensor.uniform([10], using: &c).data)
  }

  func testDistributions() throws {
    var g = SeededGenerator(seed: 3)
    let u = try Tensor.uniform([20_000], in: -1...3, using: &g).data
    XCTAssert(u.allSatisfy { $0 >= -1 && $0 < 3 })
    XCTAssertEqual(Double(u.reduce(0, +)) / 20_000, 1, accuracy: 0.03)
    let n = try Tensor.normal([20_000], mean: 2, std: 0.5, using: &g).data.map(Double.init)
    let mean = n.reduce(0, +) / 20_000
    let std = (n.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 20_000).squareRoot()
    XCTAssertEqual(mean, 2, accuracy: 0.02)
    XCTAssertEqual(std, 0.5, accuracy: 0.02)
    XCTAssertEqual(g.permutation(10).sorted(), Array(0..<10))
  }
}

/// Bad arguments get one clear line naming the operation and the shapes, not a crash deep in a loop.
final class ErrorTests: XCTestCase {
  func assertError(_ body: @autoclosure () throws -> Any, contains parts: [String], file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertThrowsError(try body(), file: file, line: line) { error in
      let text = "\(error)"
      for p in parts { XCTAssert(text.contains(p), "'\(text)' should contain '\(p)'", file: file, line: line) }
      XCTAssertFalse(text.contains("\n"), file: file, line: line)
    }
  }

  func testShapeMismatchNamesTheOpAndBothShapes() throws {
    let a = try Tensor.zeros([2, 3]), b = try Tensor.zeros([4, 5])
    assertError(try a.matmul(b), contains: ["matmul", "[2, 3]", "[4, 5]"])
    assertError(try a + (try Tensor.zeros([2, 2])), contains: ["+", "[2, 3]", "[2, 2]", "broadcast"])
    assertError(try a.reshaped([4, 2]), contains: ["reshape", "[2, 3]", "[4, 2]"])
    assertError(try Tensor.concatenate([a, b]), contains: ["concatenate", "[2, 3]", "[4, 5]"])
    assertError(try (try Tensor.zeros([1, 3, 8, 8])).conv2d(weight: try Tensor.zeros([4, 2, 3, 3])), contains: ["conv2d", "3 channels", "2"])
  }

  func testInvalidArguments() throws {
    let x = try Tensor.zeros([1, 1, 4, 4]), w = try Tensor.zeros([1, 1, 3, 3])
    assertError(try x.conv2d(weight: w, stride: 0), contains: ["conv2d", "stride", "0"])
    assertError(try x.conv2d(weight: try Tensor.zeros([1, 1, 7, 7]), padding: 1), contains: ["7x7 kernel is larger than the padded 6x6 input"])
    assertError(try x.conv2d(weight: w, padding: -1), contains: ["padding"])
    assertError(try x.maxPool2d(kernel: 5), contains: ["maxPool2d", "larger"])
    assertError(try Tensor.zeros([2, -1]), contains: ["negative size", "[2, -1]"])
    assertError(try Tensor([1, 2, 3], shape: [2, 2]), contains: ["[2, 2] needs 4 values but got 3"])
    assertError(try (try Tensor.zeros([2, 3])).softmaxCrossEntropy(labels: [0, 3]), contains: ["label 3 is out of range 0..<3"])
    assertError(try (try Tensor.zeros([2, 3])).softmaxCrossEntropy(labels: [0]), contains: ["2 rows", "1 labels"])
    assertError(try (try Tensor.zeros([2, 3])).sum(axis: 2), contains: ["axis 2", "[2, 3]"])
    assertError(try Tensor.arange(0, 1, step: 0), contains: ["step"])
    assertError(try (try Tensor.zeros([3])).clamp(min: 1, max: 0), contains: ["clamp"])
  }
}
