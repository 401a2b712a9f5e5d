import Tensors

/// Networks the course uses in more than one place, defined once.
public enum Models {
  /// Lesson 6's CIFAR-10 network, the CNN of Keras's tutorial: three 3x3 convolutions (32, 64, 64 filters, ReLU; the
  /// first two followed by 2x2 max-pooling), then dense 1024 -> 64 (ReLU) -> 10 logits; 122,570 parameters for a
  /// [3, 32, 32] input. Lesson 6 trains it, bench times its training step, the tests check its summary.
  /// `initializer` defaults to Glorot-uniform, Keras's default (biases start at zero).
  public static func cifarCNN(initializer: Initializer = .xavierUniform, rng: inout SeededGenerator) throws -> Sequential {
    Sequential([
      try Conv2D(3, 32, kernel: 3, initializer: initializer, rng: &rng), Activation(.relu), MaxPool2D(2),
      try Conv2D(32, 64, kernel: 3, initializer: initializer, rng: &rng), Activation(.relu), MaxPool2D(2),
      try Conv2D(64, 64, kernel: 3, initializer: initializer, rng: &rng), Activation(.relu), Flatten(),
      try Dense(1024, 64, initializer: initializer, rng: &rng), Activation(.relu), try Dense(64, 10, initializer: initializer, rng: &rng),
    ])
  }
}
