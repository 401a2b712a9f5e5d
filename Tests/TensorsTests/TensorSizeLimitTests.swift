import Tensors
import XCTest

/// Sizes that overflow Int or exceed the per-tensor limit are refused with a TensorError, never a trap or an
/// allocation that exhausts memory.
final class TensorSizeLimitTests: XCTestCase {
  func testShapesWhoseProductOverflowsAreRefused() {
    for shape in [[Int.max, 2], [1 << 40, 1 << 40], [3, Int.max / 2, 5]] {
      XCTAssertThrowsError(try Tensor.zeros(shape), "\(shape)") { error in
        XCTAssert("\(error)".contains("the limit for one tensor"), "\(error)")
      }
    }
    XCTAssertThrowsError(try Tensor([], shape: [Int.max, Int.max]))
  }

  func testShapesAboveTheLimitAreRefusedBeforeAllocating() {
    var rng = SeededGenerator(seed: 1)
    XCTAssertThrowsError(try Tensor.normal([100_000, 100_000], using: &rng))
    XCTAssertThrowsError(try Tensor.uniform([Tensor.maxElements + 1], using: &rng))
    XCTAssertThrowsError(try Tensor.full([1 << 20, 1 << 20], 1))
    XCTAssertThrowsError(try Tensor.linspace(0, 1, count: Int.max))
    XCTAssertThrowsError(try Tensor.arange(0, 1e30))
  }

  func testSizesWithinTheLimitStillWork() throws {
    XCTAssertEqual(try Tensor.elementCount([1000, 1000]), 1_000_000)
    XCTAssertEqual(try Tensor.zeros([0, Int.max]).count, 0)
    XCTAssertEqual(try Tensor.zeros([3, 4]).count, 12)
  }
}
