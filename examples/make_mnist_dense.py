"""Write examples/mnist_dense.h5: a tiny MNIST-shaped classifier saved by real Keras 2.9.

Run with the exam runtime's python (Python 3.8, tensorflow==2.9.0), from the repository root:

    /path/to/exam/env/bin/python examples/make_mnist_dense.py examples/mnist_dense.h5

Trained for one epoch on seeded synthetic 28x28 images (no download), so it is small and
reproducible; it stands in for a real exam answer in the README's quick start.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf


def main(out_path):
    tf.random.set_seed(0)
    rng = np.random.RandomState(0)
    images = rng.rand(256, 28, 28).astype("float32")
    labels = rng.randint(0, 10, size=(256,))
    model = tf.keras.Sequential(
        [
            tf.keras.layers.InputLayer(input_shape=(28, 28)),
            tf.keras.layers.Flatten(),
            tf.keras.layers.Dense(16, activation="relu"),
            tf.keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(images, labels, epochs=1, batch_size=64, verbose=0)
    model.save(out_path)


if __name__ == "__main__":
    main(sys.argv[1])
