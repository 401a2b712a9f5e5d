/// What every executable of the package reports for `--version` (`CommandConfiguration(version:)`).
public enum NeuralLessons {
  /// The package's version: the git tag is `v` followed by it. Change it here, then tag the commit.
  public static let version = "0.1.0"
}
