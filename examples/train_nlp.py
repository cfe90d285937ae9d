"""Exam category 4, NLP with an Embedding: tell positive from negative synthetic reviews.

Sentences are drawn from small word lists and turned into padded integer sequences with a plain
vocabulary (TextVectorization with an adapted vocabulary cannot be saved to .h5 by Keras 2).

    tfbridge train examples/train_nlp.py -- --epochs 5 --output nlp.h5
"""

import argparse

import numpy as np
import tensorflow as tf
from tfbridge_keras import ExamCheckpoint, exam_optimizer

POSITIVE = ["good", "great", "lovely", "happy", "excellent", "fun", "enjoyed", "best"]
NEGATIVE = ["bad", "awful", "boring", "sad", "worst", "dull", "hated", "poor"]
NEUTRAL = ["the", "movie", "was", "a", "plot", "and", "actors", "film", "it", "story"]
MAX_LENGTH = 16
OOV, PAD = 1, 0


def synthetic_reviews(count, rng):
    sentences, labels = [], []
    for _ in range(count):
        label = rng.randint(0, 2)
        mood = POSITIVE if label else NEGATIVE
        words = [rng.choice(NEUTRAL) for _ in range(rng.randint(4, 10))]
        for _ in range(rng.randint(1, 4)):
            words.insert(rng.randint(0, len(words) + 1), rng.choice(mood))
        sentences.append(" ".join(words))
        labels.append(label)
    return sentences, np.array(labels, dtype="float32")


def encode(sentences, vocabulary):
    """Words to ids (1 = out of vocabulary), padded and truncated at the end to MAX_LENGTH."""
    rows = np.full((len(sentences), MAX_LENGTH), PAD, dtype="int32")
    for index, sentence in enumerate(sentences):
        ids = [vocabulary.get(word, OOV) for word in sentence.split()][:MAX_LENGTH]
        rows[index, : len(ids)] = ids
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--output", default="nlp.h5")
    options = parser.parse_args()

    tf.random.set_seed(0)
    sentences, labels = synthetic_reviews(800, np.random.RandomState(0))
    words = sorted(set(POSITIVE + NEGATIVE + NEUTRAL))
    vocabulary = {word: index + 2 for index, word in enumerate(words)}
    sequences = encode(sentences, vocabulary)

    model = tf.keras.Sequential(
        [
            tf.keras.layers.Embedding(len(vocabulary) + 2, 16, input_length=MAX_LENGTH),
            tf.keras.layers.GlobalAveragePooling1D(),
            tf.keras.layers.Dense(16, activation="relu"),
            tf.keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(
        optimizer=exam_optimizer("adam", learning_rate=1e-2),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(
        sequences,
        labels,
        epochs=options.epochs,
        validation_split=0.2,
        verbose=2,
        callbacks=[ExamCheckpoint(options.output, monitor="val_accuracy")],
    )


if __name__ == "__main__":
    main()
