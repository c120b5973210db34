"""A sweep on handwritten digits: seeds x learning rates in one train_many call, each network stopping
on its own validation loss.

Trains a 64-32-10 network (relu, softmax, cross-entropy; Adam in shuffled mini-batches of 32) for
every pair of seed and learning rate, with a validation set, patience and ``restore_best``: each
network keeps its best epoch's weights. Prints the sweep's summary, the learning rate with the lowest
mean validation loss over the seeds and the test accuracy of its best network, and draws every
network's validation curve (one colour per learning rate) to a PNG.

    pip install ".[sklearn,plot]" && python examples/sweep.py --plot sweep.png
"""

import argparse
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from tinynet import Network, train_many


def load(seed=0):
    """Digits as training, validation and test sets (60/20/20, stratified), pixels scaled to 0..1."""
    digits = load_digits()
    X = digits.data / 16.0
    X_train, X_test, y_train, y_test = train_test_split(X, digits.target, test_size=0.2, random_state=seed,
                                                        stratify=digits.target)
    X_train, X_val, y_train, y_val = train_test_split(X_train, y_train, test_size=0.25, random_state=seed,
                                                      stratify=y_train)
    return (X_train, y_train), (X_val, y_val), (X_test, y_test)


def sweep(seeds, rates, epochs, patience, train, validation):
    """One network per (seed, rate), trained together; returns them, their (seed, rate) and the summary."""
    grid = [(seed, rate) for seed in seeds for rate in rates]
    nets = [Network((64, 32, 10), "relu", "softmax", "cross_entropy", seed=seed) for seed, _ in grid]
    summary = train_many(nets, *train, learn_rate=[rate for _, rate in grid], epochs=epochs,
                         optimizer="adam", batch_size=32, shuffle=True, validation=validation,
                         patience=patience, restore_best=True, loss_every=1)
    return nets, grid, summary


def plot(nets, grid, rates, path):
    """Every network's validation curve, coloured by its learning rate, to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, ax = pyplot.subplots(figsize=(7, 4.5))
    colours = pyplot.get_cmap("viridis")(np.linspace(0, 0.9, len(rates)))
    for net, (seed, rate) in zip(nets, grid):
        epochs, losses = zip(*net.validation_history)
        ax.plot(epochs, losses, color=colours[rates.index(rate)], alpha=0.8,
                label=f"learning rate {rate:g}" if seed == grid[0][0] else None)
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation loss (cross-entropy)")
    ax.set_yscale("log")
    ax.set_title(f"{len(nets)} networks, one train_many call, each stopping on its own")
    ax.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    pyplot.close(figure)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4, help="seeds per learning rate (default 4)")
    parser.add_argument("--rates", type=float, nargs="+", default=[1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2])
    parser.add_argument("--epochs", type=int, default=60, help="at most this many epochs (default 60)")
    parser.add_argument("--patience", type=int, default=5)
    parser.add_argument("--plot", metavar="PNG", help="draw the validation curves to this file")
    args = parser.parse_args(argv)
    train, validation, (X_test, y_test) = load()
    start = time.perf_counter()
    nets, grid, summary = sweep(range(args.seeds), args.rates, args.epochs, args.patience, train, validation)
    seconds = time.perf_counter() - start
    print(f"{len(nets)} networks ({args.seeds} seeds x {len(args.rates)} learning rates), up to "
          f"{args.epochs} epochs, trained in {seconds:.2f} s; {sum(record.epochs for record in summary)} "
          "epochs run in all")
    print(f"{'seed':>4} {'rate':>8} {'epochs':>6} {'stopped':>10} {'best epoch':>10} {'best loss':>9}")
    for (seed, rate), record in zip(grid, summary):
        print(f"{seed:>4} {rate:>8g} {record.epochs:>6} {record.stopped:>10} {record.best_epoch:>10} "
              f"{record.best_loss:>9.4f}")
    means = {rate: np.mean([record.best_loss for (_, r), record in zip(grid, summary) if r == rate])
             for rate in args.rates}
    best_rate = min(means, key=means.get)
    index = min((i for i, (_, rate) in enumerate(grid) if rate == best_rate),
                key=lambda i: summary[i].best_loss)
    accuracy = float(np.mean(nets[index].predict(X_test).argmax(axis=1) == y_test))
    print(f"best learning rate {best_rate:g} (mean best validation loss {means[best_rate]:.4f}); its best "
          f"network (seed {grid[index][0]}) has test accuracy {accuracy:.3f}")
    if args.plot:
        plot(nets, grid, list(args.rates), args.plot)
        print(f"validation curves drawn to {args.plot}")
    return {"nets": nets, "grid": grid, "summary": summary, "best_rate": best_rate, "accuracy": accuracy}


if __name__ == "__main__":
    main()
