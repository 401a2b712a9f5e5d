/// Sizes of a 2-D convolution or pooling window (the checks that name the operation are in Tensors:
/// `Window2D.outputSize`).
public struct Window2D: Equatable, Sendable {
  public let kernelHeight: Int, kernelWidth: Int
  public let stride: Int
  public let padding: Int

  public init(kernel: Int, stride: Int = 1, padding: Int = 0) {
    self.init(kernelHeight: kernel, kernelWidth: kernel, stride: stride, padding: padding)
  }
  public init(kernelHeight: Int, kernelWidth: Int, stride: Int = 1, padding: Int = 0) {
    self.kernelHeight = kernelHeight
    self.kernelWidth = kernelWidth
    self.stride = stride
    self.padding = padding
  }
}
