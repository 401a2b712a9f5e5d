#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's peak resident memory in bytes so far (getrusage's ru_maxrss: kilobytes on Linux, bytes on
/// Apple systems), or nil on a system that does not report it.
public func peakResidentBytes() -> Double? {
  #if canImport(Glibc)
  var usage = rusage()
  guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return nil }
  return Double(usage.ru_maxrss) * 1024
  #elseif canImport(Darwin)
  var usage = rusage()
  guard getrusage(RUSAGE_SELF, &usage) == 0 else { return nil }
  return Double(usage.ru_maxrss)
  #else
  return nil
  #endif
}
