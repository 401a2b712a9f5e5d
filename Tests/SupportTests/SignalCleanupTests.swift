import Dispatch
import Foundation
import Support
import XCTest

/// The clean-up registry under threads: every token distinct, every path forgotten when unregistered.
/// (That a signal removes the registered files is tested end to end by HostileInputSweepTests.)
final class SignalCleanupTests: XCTestCase {
  func testRegisteringFromManyThreadsGivesDistinctTokensAndForgetsEveryPath() {
    let before = Set(SignalCleanup.registered)
    let tokens = Locked([Int]())
    DispatchQueue.concurrentPerform(iterations: 400) { i in
      let token = SignalCleanup.register("/nonexistent/neural-lessons-test-\(i)")
      tokens.withLock { $0.append(token) }
      if i % 2 == 0 { SignalCleanup.unregister(token) }
    }
    let all = tokens.withLock { $0 }
    XCTAssertEqual(Set(all).count, 400, "tokens are unique")
    let left = Set(SignalCleanup.registered).subtracting(before)
    XCTAssertEqual(left.count, 200)
    XCTAssert(left.allSatisfy { Int($0.split(separator: "-").last!)! % 2 == 1 }, "only the odd paths are still registered")
    for token in all { SignalCleanup.unregister(token) }
    XCTAssertEqual(Set(SignalCleanup.registered), before)
  }

  func testLockedSerialisesUpdates() {
    let counter = Locked(0)
    DispatchQueue.concurrentPerform(iterations: 8) { _ in
      for _ in 0..<10_000 { counter.withLock { $0 += 1 } }
    }
    XCTAssertEqual(counter.withLock { $0 }, 80_000)
  }
}
