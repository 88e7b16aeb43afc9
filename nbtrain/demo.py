"""``python -m nbtrain.demo``: the classic Keras MNIST MLP, trained on MNIST-shaped synthetic digits.

It is the Keras tutorial with only the imports changed, and shows the terminal progress bar.

Args (command line):
    --epochs N      epochs to train (default 3)
    --samples N     training samples (default 12000)
    --seed N        random seed (default 0)
"""

from __future__ import annotations

import argparse

import nbtrain as keras
from nbtrain.datasets import make_mnist_like
from nbtrain.layers import Dense, Dropout
from nbtrain.models import Sequential
from nbtrain.optimizers import RMSprop


def build_model() -> Sequential:
    """784-512-512-10 with ReLU and Dropout 0.2, as in the Keras MNIST MLP example."""
    model = Sequential()
    model.add(Dense(512, activation="relu", input_shape=(784,)))
    model.add(Dropout(0.2))
    model.add(Dense(512, activation="relu"))
    model.add(Dropout(0.2))
    model.add(Dense(10, activation="softmax"))
    model.compile(loss="categorical_crossentropy", optimizer=RMSprop(), metrics=["accuracy"])
    return model


def main(argv=None) -> keras.callbacks.History:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--samples", type=int, default=12000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    keras.utils.set_random_seed(args.seed)
    x, y = make_mnist_like(args.samples + 2000, seed=args.seed)
    x = x.reshape(len(x), 784).astype("float32") / 255
    y = keras.utils.to_categorical(y, 10)
    x_train, y_train, x_test, y_test = x[:args.samples], y[:args.samples], x[args.samples:], y[args.samples:]

    model = build_model()
    print(f"Training the Keras MNIST MLP on {len(x_train)} synthetic MNIST-shaped digits "
          f"({model.count_params():,} parameters).")
    history = model.fit(x_train, y_train, batch_size=128, epochs=args.epochs, verbose=1,
                        validation_data=(x_test, y_test))
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"Test loss: {loss:.4f}  Test accuracy: {accuracy:.4f}")
    return history


if __name__ == "__main__":
    main()
