import Foundation

/// The Wisconsin Diagnostic Breast Cancer table (`breast_cancer.csv`, the copy scikit-learn ships): 569
/// tumours, 30 real-valued features each, and a label, 0 = malignant, 1 = benign.
///
/// The file's first line is a header of counts and class names, `569,30,malignant,benign`; then one tumour a
/// line, its features and its label, separated by commas. The reader checks the whole file against its
/// header: a file with fewer or more rows than the header says (truncated), a row with the wrong number of
/// columns, a value that is not a finite number, or a label other than 0 or 1 is refused with the file's
/// name and the line number.
public struct BreastCancer: Equatable {
  /// The file's class names by label: `["malignant", "benign"]` for the real file.
  public var classNames: [String]
  /// Features, row-major: `features[i * featureCount + j]` is feature j of tumour i.
  public var features: [Double]
  /// Labels as in the file: 0 = malignant, 1 = benign.
  public var labels: [Int]
  public var featureCount: Int
  public var count: Int { labels.count }

  public init(features: [Double], labels: [Int], featureCount: Int, classNames: [String] = ["malignant", "benign"]) {
    precondition(features.count == labels.count * featureCount, "features must hold featureCount values per label")
    self.features = features
    self.labels = labels
    self.featureCount = featureCount
    self.classNames = classNames
  }

  /// The features in the order the file stores them: ten measurements of the cell nuclei, as their mean,
  /// standard error and worst (largest) value over the image.
  public static let featureNames: [String] = ["mean", "standard error of", "worst"].flatMap { kind in
    ["radius", "texture", "perimeter", "area", "smoothness", "compactness", "concavity", "concave points", "symmetry", "fractal dimension"]
      .map { "\(kind) \($0)" }
  }

  /// Where the lesson looks when no file is given.
  public static let defaultPath = "data/breast_cancer.csv"

  /// The largest file the reader accepts: the real one is 120 kB, and a line of 31 numbers of at most 24
  /// characters each fits 5,000 rows into 4 MB. Anything larger is refused before it is read.
  public static let maximumBytes = 4_000_000

  /// Tumour `i`'s features.
  public func row(_ i: Int) -> ArraySlice<Double> { features[(i * featureCount)..<((i + 1) * featureCount)] }

  /// Reads and checks `path` (see the type's description); `maximumBytes` bounds the file's size.
  public static func load(path: String, maximumBytes: Int = maximumBytes) throws -> BreastCancer {
    let name = (path as NSString).lastPathComponent
    guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else {
      throw DataError("\(path) not found: run make data (or pass --data FILE)")
    }
    let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
    guard size <= maximumBytes else {
      throw DataError("\(name): \(size) bytes, far more than a breast-cancer table can hold (at most \(maximumBytes)): this is not the right file; pass --data FILE")
    }
    let bytes = try DataFile.read(path, what: "a breast-cancer table", maxBytes: maximumBytes)
    guard let text = String(data: bytes, encoding: .utf8) else { throw DataError("\(name): is not UTF-8 text") }
    return try parse(text, name: name)
  }

  /// Parses the file's text; `name` is used in the error messages.
  public static func parse(_ text: String, name: String) throws -> BreastCancer {
    // Split at any line end: Swift reads "\r\n" as one Character, which a split at "\n" would not see.
    var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
    // Blank lines at the end (a final newline) are fine; blank lines between rows are not.
    while let last = lines.last, last.allSatisfy({ $0 == " " }) { lines.removeLast() }
    guard let headerLine = lines.first else {
      throw DataError("\(name): the file is empty; expected a header such as '569,30,malignant,benign' and one tumour a line")
    }
    let header = headerLine.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    guard header.count == 4, let rows = Int(header[0]), let columns = Int(header[1]), rows >= 1, columns >= 1, !header[2].isEmpty, !header[3].isEmpty else {
      throw DataError("\(name) line 1: the header '\(headerLine)' is not 'rows,features,name of class 0,name of class 1' (such as '569,30,malignant,benign')")
    }
    let dataLines = lines.count - 1
    guard dataLines == rows else {
      let what = dataLines < rows ? "the file is truncated" : "the header does not match the file"
      throw DataError("\(name): \(dataLines) data row\(dataLines == 1 ? "" : "s") but the header says \(rows): \(what); run make data again (or pass --data FILE)")
    }
    var features: [Double] = []
    features.reserveCapacity(rows * columns)
    var labels: [Int] = []
    labels.reserveCapacity(rows)
    for (i, line) in lines.dropFirst().enumerated() {
      let number = i + 2
      let cells = line.split(separator: ",", omittingEmptySubsequences: false)
      guard cells.count == columns + 1 else {
        throw DataError("\(name) line \(number): \(cells.count) column\(cells.count == 1 ? "" : "s"), expected \(columns + 1) (\(columns) features and the label, as the header says)")
      }
      for (j, cell) in cells.enumerated() {
        let value = cell.trimmingCharacters(in: .whitespaces)
        guard let v = Double(value), v.isFinite else {
          let column = j < columns ? "feature \(j + 1)" : "the label"
          throw DataError("\(name) line \(number): '\(value)' in column \(j + 1) (\(column)) is not a number")
        }
        if j < columns {
          features.append(v)
        } else {
          guard v == 0 || v == 1 else {
            throw DataError("\(name) line \(number): label '\(value)' is neither 0 (\(header[2])) nor 1 (\(header[3]))")
          }
          labels.append(Int(v))
        }
      }
    }
    return BreastCancer(features: features, labels: labels, featureCount: columns, classNames: [header[2], header[3]])
  }

  /// The table in the file's format (for test fixtures and subsets).
  public func csv() -> String {
    var out = "\(count),\(featureCount),\(classNames[0]),\(classNames[1])\n"
    for i in 0..<count {
      out += row(i).map { String($0) }.joined(separator: ",") + ",\(labels[i])\n"
    }
    return out
  }
}
