"""Save real Keras models for the sync tests. Runs INSIDE a TensorFlow env (Python 3.8 ok):

python make_models.py OUT_DIR [big_units]

huge.h5 (~40 MB) makes an upload last long enough to interrupt it from outside.
"""

import os
import sys

import tensorflow as tf


def dense_model(seed, units):
    tf.random.set_seed(seed)
    model = tf.keras.Sequential(
        [
            tf.keras.layers.Input((28, 28)),
            tf.keras.layers.Flatten(),
            tf.keras.layers.Dense(units, activation="relu"),
            tf.keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    return model


def main():
    out = sys.argv[1]
    big_units = int(sys.argv[2]) if len(sys.argv) > 2 else 1500
    os.makedirs(out, exist_ok=True)
    dense_model(1, 16).save(os.path.join(out, "first.h5"))
    dense_model(2, 16).save(os.path.join(out, "second.h5"))
    dense_model(3, big_units).save(os.path.join(out, "big.h5"))
    dense_model(4, 12800).save(os.path.join(out, "huge.h5"))


if __name__ == "__main__":
    main()
