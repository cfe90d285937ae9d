"""Exam category 1, basic regression: learn y = 2x - 1 from synthetic points with one Dense layer.

tfbridge train examples/train_regression.py -- --epochs 30 --output regression.h5
"""

import argparse

import numpy as np
import tensorflow as tf
from tfbridge_keras import ExamCheckpoint, exam_optimizer


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--output", default="regression.h5")
    options = parser.parse_args()

    tf.random.set_seed(0)
    rng = np.random.RandomState(0)
    x = rng.uniform(-5.0, 5.0, size=(256, 1)).astype("float32")
    y = (2.0 * x - 1.0 + rng.normal(0.0, 0.05, size=x.shape)).astype("float32")

    model = tf.keras.Sequential([tf.keras.layers.Dense(1, input_shape=(1,))])
    model.compile(optimizer=exam_optimizer("sgd", learning_rate=0.02), loss="mse")
    model.fit(
        x,
        y,
        epochs=options.epochs,
        validation_split=0.25,
        verbose=2,
        callbacks=[ExamCheckpoint(options.output)],
    )
    print("prediction for x=10 (expect about 19):", float(model.predict(np.array([[10.0]]))[0][0]))


if __name__ == "__main__":
    main()
