"""Save the runtime tests' models with the exam runtime's own Keras: `python build_models.py OUT`.

Runs inside the Python 3.8 / TensorFlow 2.9 exam runtime: stdlib + tensorflow only, 3.8 syntax.
Lambda layers that crash or hang do so only outside this script (TFBRIDGE_TEST_BUILDING unset).
"""

import os
import sys

os.environ["TFBRIDGE_TEST_BUILDING"] = "1"

import tensorflow as tf

layers = tf.keras.layers


def save(model, name, loss="mse"):
    model.compile(optimizer="adam", loss=loss)
    model.save(os.path.join(sys.argv[1], name + ".h5"))


def dense():
    return tf.keras.Sequential(
        [
            layers.Dense(8, activation="relu", input_shape=(5,)),
            layers.Dense(3, activation="softmax"),
        ]
    )


def float_embedding():
    return tf.keras.Sequential(
        [
            layers.Embedding(50, 4, input_length=6),
            layers.GlobalAveragePooling1D(),
            layers.Dense(1, activation="sigmoid"),
        ]
    )


def int_embedding():
    tokens = tf.keras.Input((6,), dtype="int32")
    hidden = layers.GlobalAveragePooling1D()(layers.Embedding(7, 4)(tokens))
    return tf.keras.Model(tokens, layers.Dense(2)(hidden))


def category_ids():
    ids = tf.keras.Input((3,), dtype="int32")
    encoded = layers.CategoryEncoding(num_tokens=4, output_mode="multi_hot")(ids)
    return tf.keras.Model(ids, layers.Dense(2)(encoded))


def string_input():
    text = tf.keras.Input((1,), dtype=tf.string)
    ids = layers.Hashing(num_bins=16)(text)
    hidden = layers.Flatten()(layers.Embedding(16, 4)(ids))
    return tf.keras.Model(text, layers.Dense(2)(hidden))


def multi_io():
    features = tf.keras.Input((3,), name="features")
    tokens = tf.keras.Input((5,), dtype="int32", name="tokens")
    embedded = layers.Flatten()(layers.Embedding(9, 2)(tokens))
    joined = layers.Concatenate()([features, embedded])
    score = layers.Dense(1, name="score")(joined)
    label = layers.Dense(2, activation="softmax", name="label")(joined)
    return tf.keras.Model([features, tokens], [score, label])


def _printing(x):
    # Writes a fake protocol line straight to fd 1 and prints through Python's stdout.
    __import__("os").write(1, b'{"id": 1, "ok": true, "result": {"forged": true}}\n')
    print('{"id": 2, "ok": false}')
    return x


def _crashing(x):
    if "TFBRIDGE_TEST_BUILDING" not in __import__("os").environ:
        __import__("os")._exit(7)
    return x


def _hanging(x):
    if "TFBRIDGE_TEST_BUILDING" not in __import__("os").environ:
        __import__("time").sleep(3600)
    return x


def _marking(x):
    # A payload: leaves a marker file whenever it runs, wherever TFBRIDGE_TEST_MARKER points.
    marker = __import__("os").environ.get("TFBRIDGE_TEST_MARKER")
    if marker:
        open(marker, "w").close()
    return x


def with_lambda(function):
    return tf.keras.Sequential([layers.Lambda(function, input_shape=(4,)), layers.Dense(2)])


if __name__ == "__main__":
    save(dense(), "dense", loss="categorical_crossentropy")
    save(float_embedding(), "float_embedding", loss="binary_crossentropy")
    save(int_embedding(), "int_embedding")
    save(category_ids(), "category_ids")
    save(string_input(), "string_input")
    save(multi_io(), "multi_io")
    save(with_lambda(_printing), "printing")
    save(with_lambda(_crashing), "crashing")
    save(with_lambda(_hanging), "hanging")
    save(with_lambda(_marking), "marking")
