"""Exam category 2-3, image classification: a small CNN tells which quadrant of a 28x28 image
holds a bright square (4 classes), on synthetic images.

    tfbridge train examples/train_images.py -- --epochs 5 --output images.h5
"""

import argparse

import numpy as np
import tensorflow as tf
from tfbridge_keras import ExamCheckpoint, exam_optimizer

SIZE = 28
CLASSES = 4


def synthetic_images(count, rng):
    """Noise images with a bright 8x8 square in the quadrant named by the label."""
    images = rng.uniform(0.0, 0.3, size=(count, SIZE, SIZE, 1)).astype("float32")
    labels = rng.randint(0, CLASSES, size=count)
    half = SIZE // 2
    for index, label in enumerate(labels):
        top = (label // 2) * half + rng.randint(0, half - 8)
        left = (label % 2) * half + rng.randint(0, half - 8)
        images[index, top : top + 8, left : left + 8, 0] = 1.0
    return images, labels


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--output", default="images.h5")
    options = parser.parse_args()

    tf.random.set_seed(0)
    images, labels = synthetic_images(600, np.random.RandomState(0))
    model = tf.keras.Sequential(
        [
            tf.keras.layers.Conv2D(8, 3, activation="relu", input_shape=(SIZE, SIZE, 1)),
            tf.keras.layers.MaxPooling2D(2),
            tf.keras.layers.Conv2D(16, 3, activation="relu"),
            tf.keras.layers.MaxPooling2D(2),
            tf.keras.layers.Flatten(),
            tf.keras.layers.Dense(32, activation="relu"),
            tf.keras.layers.Dense(CLASSES, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=exam_optimizer("adam", learning_rate=1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(
        images,
        labels,
        epochs=options.epochs,
        batch_size=32,
        validation_split=0.2,
        verbose=2,
        callbacks=[ExamCheckpoint(options.output, monitor="val_accuracy")],
    )


if __name__ == "__main__":
    main()
