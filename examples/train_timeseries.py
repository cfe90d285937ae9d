"""Exam category 5, time series: forecast the next value of a noisy seasonal series from a window
of past values, with Conv1D + LSTM, on a synthetic series.

    tfbridge train examples/train_timeseries.py -- --epochs 5 --output timeseries.h5
"""

import argparse

import numpy as np
import tensorflow as tf
from tfbridge_keras import ExamCheckpoint, exam_optimizer

WINDOW = 20
SPLIT = 500


def synthetic_series(length, rng):
    time = np.arange(length, dtype="float32")
    seasonal = np.sin(2 * np.pi * time / 50.0)
    return (0.002 * time + seasonal + rng.normal(0.0, 0.1, size=length)).astype("float32")


def windowed_dataset(series, batch_size=32, shuffle=True):
    """(window of WINDOW values, next value) pairs, the exam's usual tf.data pipeline."""
    dataset = tf.data.Dataset.from_tensor_slices(series)
    dataset = dataset.window(WINDOW + 1, shift=1, drop_remainder=True)
    dataset = dataset.flat_map(lambda window: window.batch(WINDOW + 1))
    dataset = dataset.map(lambda window: (tf.expand_dims(window[:-1], -1), window[-1]))
    if shuffle:
        dataset = dataset.shuffle(1000, seed=0)
    return dataset.batch(batch_size).prefetch(1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--output", default="timeseries.h5")
    options = parser.parse_args()

    tf.random.set_seed(0)
    series = synthetic_series(600, np.random.RandomState(0))
    model = tf.keras.Sequential(
        [
            tf.keras.layers.Conv1D(
                16, 3, padding="causal", activation="relu", input_shape=(WINDOW, 1)
            ),
            tf.keras.layers.LSTM(16),
            tf.keras.layers.Dense(1),
        ]
    )
    model.compile(
        optimizer=exam_optimizer("adam", learning_rate=1e-3),
        loss=tf.keras.losses.Huber(),
        metrics=["mae"],
    )
    model.fit(
        windowed_dataset(series[:SPLIT]),
        validation_data=windowed_dataset(series[SPLIT:], shuffle=False),
        epochs=options.epochs,
        verbose=2,
        callbacks=[ExamCheckpoint(options.output, monitor="val_mae")],
    )


if __name__ == "__main__":
    main()
