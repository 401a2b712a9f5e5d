import Tensors
import XCTest

/// The gradient check itself: a NaN or infinite gradient anywhere fails it, whatever came before.
final class GradientCheckTests: XCTestCase {
  /// f(a, b) = a³ + sqrt(b) at b = 0: a's gradients agree (a finite error first), then b's analytic gradient is
  /// infinite (0.5 / sqrt(0)) and its numeric one NaN (sqrt of -h). The check must report an infinite error.
  func testANonFiniteGradientAfterAFiniteOneFailsTheCheck() throws {
    let a = try Tensor([0.3, -0.7, 1.1], shape: [3], requiresGrad: true)
    let b = try Tensor([0, 0, 0], shape: [3], requiresGrad: true)
    let result = try GradientCheck.run([a, b]) { try $0[0].pow(3) + $0[1].sqrt() }
    XCTAssertEqual(result.maxError, .infinity, "a NaN or infinite gradient must fail the check")
    let worst = try XCTUnwrap(result.worst)
    XCTAssertEqual(worst.input, 1, "the worst pair is b's, not a's: \(worst)")
    XCTAssertFalse(worst.analytic.isFinite && worst.numeric.isFinite)
    // a's own pairs are fine on their own: the failure is b's alone.
    let aOnly = try GradientCheck.run([a]) { $0[0].pow(3) }
    XCTAssertGreaterThan(aOnly.maxError, 0, "a's error must be finite and non-zero for this test to mean anything")
    XCTAssertLessThan(aOnly.maxError, 1e-3)
  }

  /// A correct gradient still passes (the check is not simply always failing).
  func testAGoodGradientStillPasses() throws {
    let x = try Tensor([0.5, 2, -1.5], shape: [3], requiresGrad: true)
    let result = try GradientCheck.run([x]) { try $0[0] * $0[0] }
    XCTAssertLessThan(result.maxError, 1e-3)
  }
}
