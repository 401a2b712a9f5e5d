import Dispatch

/// Runs `body(i)` for i in 0..<count, spread over the kernels' threads (`KernelSettings.threads`) in contiguous chunks. Each i must
/// write only its own outputs, so the result does not depend on the thread count.
package func parallelFor(_ count: Int, _ body: (Int) -> Void) {
  let parts = min(KernelSettings.threads, count)
  if parts <= 1 {
    for i in 0..<count { body(i) }
    return
  }
  withoutActuallyEscaping(body) { body in
    let box = UncheckedSendable(body)
    DispatchQueue.concurrentPerform(iterations: parts) { p in
      for i in (count * p / parts)..<(count * (p + 1) / parts) { box.value(i) }
    }
  }
}

/// `body` with a pointer to the array's values, or nil without an array.
package func withOptionalPointer<R>(_ values: [Float]?, _ body: (UnsafePointer<Float>?) -> R) -> R {
  guard let values else { return body(nil) }
  return values.withUnsafeBufferPointer { body($0.baseAddress!) }
}

package struct UncheckedSendable<T>: @unchecked Sendable {
  package let value: T
  package init(_ value: T) { self.value = value }
}

/// A pointer that may cross into `parallelFor`'s closures (each iteration touches its own part).
package struct SharedPointer<T>: @unchecked Sendable {
  package let pointer: UnsafeMutablePointer<T>
  package init(pointer: UnsafeMutablePointer<T>) { self.pointer = pointer }
}

/// Runs `body` over 0..<count, in one piece for small counts and split over the cores for large ones (each
/// value is computed on its own, so the split changes no result).
package func elementwiseChunks(_ count: Int, _ body: (Range<Int>) -> Void) {
  let parts = count >= 1 << 16 ? KernelSettings.threads : 1
  if parts <= 1 {
    body(0..<count)
    return
  }
  parallelFor(parts) { p in body((count * p / parts)..<(count * (p + 1) / parts)) }
}
