"""Pure TensorFlow building blocks: tf.function- and XLA-safe, no numpy, no side effects."""
