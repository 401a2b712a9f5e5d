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

/// Times several cases in alternating rounds (each warmed up once first): in every round each case repeats for
/// `minTime / rounds` seconds (at least 3 times). On a shared machine whose speed drifts over seconds, cases
/// whose ratio is the result (a convolution against the GEMM, a function against relu) then see the same
/// drift, instead of one of them landing in a slow spell alone. Returns each case's samples over all rounds.
func measureInterleaved(rounds: Int, minTime: Double, _ cases: [() throws -> Void]) throws -> [Timing] {
  for body in cases { try body() }
  var samples = [[Double]](repeating: [], count: cases.count)
  let perRound = minTime / Double(max(1, rounds))
  for _ in 0..<max(1, rounds) {
    for (i, body) in cases.enumerated() {
      var taken = 0
      let start = DispatchTime.now().uptimeNanoseconds
      repeat {
        let t0 = DispatchTime.now().uptimeNanoseconds
        try body()
        samples[i].append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        taken += 1
      } while taken < 3 || (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 < perRound && taken < 1000)
    }
  }
  return samples.map { Timing(samples: $0) }
}
