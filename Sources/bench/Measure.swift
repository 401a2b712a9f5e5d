import Dispatch
import Foundation

/// Times of one benchmark case: median and spread of repeated runs after a warm-up.
struct Timing {
  let samples: [Double]
  var median: Double { samples.sorted()[samples.count / 2] }
  var min: Double { samples.min()! }
  var max: Double { samples.max()! }
  /// (max - min) / median.
  var spread: Double { (max - min) / median }
}

/// Runs `body` once to warm up, then repeats it until `minTime` seconds have passed (at least 3 times).
func measure(minTime: Double, _ body: () throws -> Void) rethrows -> Timing {
  try body()
  var samples: [Double] = []
  let start = DispatchTime.now().uptimeNanoseconds
  repeat {
    let t0 = DispatchTime.now().uptimeNanoseconds
    try body()
    samples.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
  } while samples.count < 3 || (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 < minTime && samples.count < 1000)
  return Timing(samples: samples)
}
