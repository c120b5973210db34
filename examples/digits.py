"""Handwritten digits (scikit-learn's 8x8 set, shipped with it): tinynet.Network beside scikit-learn.

Both train a 64-32-10 network (relu hidden layer, softmax output, cross-entropy) by plain per-sample
SGD: batch size 1, no momentum, no weight decay, the same learning rate and number of epochs, the
samples shuffled every epoch. Prints each one's test accuracy and training time.

    pip install ".[sklearn]" && python examples/digits.py
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

from tinynet import Network


def load(seed=0):
    digits = load_digits()
    X = digits.data / 16.0                    # pixel intensities 0..16 -> 0..1
    return train_test_split(X, digits.target, test_size=0.25, random_state=seed, stratify=digits.target)


def train_tinynet(X, y, epochs, learn_rate, seed=0, backend=None):
    net = Network((64, 32, 10), activation="relu", output="softmax", loss="cross_entropy",
                  seed=seed, backend=backend)
    net.train(X, y, learn_rate=learn_rate, epochs=epochs, shuffle=True, loss_every=0)
    return net


def train_sklearn(X, y, epochs, learn_rate, seed=0):
    model = MLPClassifier(hidden_layer_sizes=(32,), activation="relu", solver="sgd", batch_size=1,
                          learning_rate_init=learn_rate, momentum=0.0, alpha=0.0, max_iter=epochs,
                          shuffle=True, tol=0.0, n_iter_no_change=epochs + 1, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)   # it stops at max_iter, as asked
        model.fit(X, y)
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--learn-rate", type=float, default=0.01)
    args = parser.parse_args(argv)
    X_train, X_test, y_train, y_test = load()
    print(f"digits: {len(X_train)} training and {len(X_test)} test images, 64-32-10, "
          f"{args.epochs} epochs of per-sample SGD, learning rate {args.learn_rate}")
    results = {}
    for name, train, predict in (
        ("tinynet", train_tinynet, lambda model, X: model.predict(X).argmax(axis=1)),
        ("scikit-learn", train_sklearn, lambda model, X: model.predict(X)),
    ):
        start = time.perf_counter()
        model = train(X_train, y_train, args.epochs, args.learn_rate)
        seconds = time.perf_counter() - start
        accuracy = float(np.mean(predict(model, X_test) == y_test))
        results[name] = (accuracy, seconds)
        print(f"{name:<14} test accuracy {accuracy:.3f}   training {seconds:.3f} s")
    speedup = results["scikit-learn"][1] / results["tinynet"][1]
    print(f"tinynet trains {speedup:.0f}x faster")
    return results


if __name__ == "__main__":
    main()
