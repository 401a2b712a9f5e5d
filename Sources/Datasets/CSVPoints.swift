import Foundation
import SwiftCSV

/// Why a data file cannot be used: one line naming the file (and line) and what to do.
public struct DataError: Error, CustomStringConvertible, Equatable {
  public let description: String
  public init(_ description: String) { self.description = description }
}

extension DataError: LocalizedError {
  public var errorDescription: String? { description }
}

/// Pairs (x, y) read from a CSV file: a header line, then one row per point. The columns named `x` and `y`
/// are used (or the first two when the header names neither).
public struct XYData: Equatable {
  public var x: [Double]
  public var y: [Double]

  public init(x: [Double], y: [Double]) {
    self.x = x
    self.y = y
  }

  /// The largest CSV file read, in bytes.
  public static let maxBytes = 256 << 20
  /// The largest |x| or |y| accepted.
  public static let maxMagnitude = 1e100

  /// Reads `path`; every problem is reported with the file's name and the line it is on.
  public static func load(csv path: String) throws -> XYData {
    let name = (path as NSString).lastPathComponent
    // 256 MB is millions of rows; a larger "CSV" (or a folder, or /dev/zero) is refused before it is read.
    let bytes = try DataFile.read(path, what: "an x,y CSV", maxBytes: maxBytes, missing: "\(path): cannot be read (check the path)")
    guard let text = String(data: bytes, encoding: .utf8) else { throw DataError("\(name): is not UTF-8 text") }
    guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
      throw DataError("\(name): the file is empty; expected a header line such as 'x,y' and at least two rows of numbers")
    }
    let csv: CSV<Enumerated>
    do {
      csv = try CSV<Enumerated>(string: text, delimiter: .comma, loadColumns: false)
    } catch {
      throw DataError("\(name): not valid CSV (\(error))")
    }
    let header = csv.header.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
    guard header.count >= 2 else {
      throw DataError("\(name) line 1: the header has \(header.count) column; expected two columns, x and y")
    }
    let xi = header.firstIndex(of: "x") ?? 0
    let yi = header.firstIndex(of: "y") ?? (xi == 0 ? 1 : 0)
    var x: [Double] = [], y: [Double] = []
    for (i, row) in csv.rows.enumerated() {
      let line = i + 2
      if row.allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) { continue }
      guard row.count > max(xi, yi) else {
        throw DataError("\(name) line \(line): has \(row.count) column\(row.count == 1 ? "" : "s"), expected \(header.count) (\(csv.header.joined(separator: ",")))")
      }
      for (column, target) in [(xi, 0), (yi, 1)] {
        let cell = row[column].trimmingCharacters(in: .whitespaces)
        guard !cell.isEmpty else {
          throw DataError("\(name) line \(line): no value in column \(csv.header[column]) (the header has \(header.count) columns: \(csv.header.joined(separator: ",")))")
        }
        guard let v = Double(cell), v.isFinite else {
          throw DataError("\(name) line \(line): '\(cell)' in column \(csv.header[column]) is not a number")
        }
        // Squares and products of values beyond 1e100 overflow Double in a least-squares fit.
        guard Swift.abs(v) <= maxMagnitude else {
          throw DataError("\(name) line \(line): \(cell) in column \(csv.header[column]) is too large to fit (beyond ±1e100 its square overflows a Double): rescale the column")
        }
        if target == 0 { x.append(v) } else { y.append(v) }
      }
    }
    guard x.count >= 2 else {
      throw DataError("\(name): has \(x.count) data row\(x.count == 1 ? "" : "s"); need at least two points to fit a line")
    }
    return XYData(x: x, y: y)
  }
}
