"""Running a training kernel over many epochs: in chunks, with losses, a report, and divergence checks.

Shared by ``OurNeuralNetwork.train``, ``Network.train`` (one network) and ``tinynet.train_many``
(many). The kernel runs in chunks of about ``CHUNK_STEPS`` sample steps (a few milliseconds when
compiled): between chunks the losses recorded in the chunk are handed to a report (which prints the
loss lines, draws a progress bar, and may ask to stop early), Python handles signals (Ctrl-C raises
``KeyboardInterrupt`` within milliseconds, with every network as it was at the end of a whole epoch),
and the parameters are checked for inf and NaN.
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

__all__ = ["CHUNK_STEPS", "Outcome", "Reporter", "run_training", "warn_divergence"]

#: Sample steps (samples x epochs x networks, in units of the tutorial network's step) per kernel call.
CHUNK_STEPS = 1 << 18


class Outcome(NamedTuple):
    """How a training run ended."""

    #: The first epoch after which some parameter was inf or NaN, or None.
    diverged: int | None
    #: The epochs run: all that were asked for, unless the report asked to stop early.
    epochs: int


def count_multiples(start: int, stop: int, every: int) -> int:
    """How many integers in range(start, stop) are multiples of ``every`` (0 when every == 0)."""
    if every == 0 or stop <= start:
        return 0
    return (stop + every - 1) // every - (start + every - 1) // every


def _first_bad_epoch(train_chunk, state, start, stop, n_nets):
    """Replay epochs start..stop-1 from ``state`` one at a time; the first after which one is not finite."""
    state = tuple(array.copy() for array in state)
    no_losses = np.empty((n_nets, 0))
    for epoch in range(start, stop):
        train_chunk(state, epoch, epoch + 1, 0, no_losses)
        if not np.isfinite(state[0]).all():
            return epoch
    return stop - 1  # not reached: the kernels are deterministic


def run_training(train_chunk: Callable[..., None], state: tuple[np.ndarray, ...], epochs: int,
                 loss_every: int, steps_per_epoch: int, histories: Sequence[list[tuple[int, float]]],
                 report: Callable[[int, list[tuple[int, float]]], Any] | None = None,
                 chunk_epochs: int | None = None) -> Outcome:
    """Train for ``epochs`` epochs, calling the kernel in chunks.

    Parameters
    ----------
    train_chunk : callable
        ``train_chunk(state, epoch_start, epoch_stop, loss_every, losses)`` runs a backend's training
        kernel over those epochs, updating the arrays of ``state`` in place and writing each
        network's recorded losses into its row of ``losses``.
    state : tuple of ndarray
        What the kernel updates: the parameters first, shape (n_nets, ...) for n_nets networks (then,
        for example, momentum velocities).
    epochs, loss_every : int
    steps_per_epoch : int
        The work of one epoch, in units of one sample step of the tutorial's network; sets the
        chunk size.
    histories : sequence of n_nets lists
        Receive each network's recorded (epoch, loss) pairs as training goes (so that an interrupted
        run keeps what was recorded).
    report : callable or None
        Called after each chunk with the number of epochs done and network 0's (epoch, loss) pairs
        recorded in the chunk. If it returns True, training stops there (early stopping).
    chunk_epochs : int or None
        At most this many epochs per chunk (1: the report sees every epoch); None: as the work sets.

    Returns
    -------
    Outcome
    """
    n_nets = len(histories)
    diverged = None
    chunk = max(1, CHUNK_STEPS // max(1, steps_per_epoch))
    if chunk_epochs is not None:
        chunk = min(chunk, chunk_epochs)
    start = 0
    while start < epochs:
        stop = min(epochs, start + chunk)
        losses = np.empty((n_nets, count_multiples(start, stop, loss_every)))
        before = tuple(array.copy() for array in state) if diverged is None else None
        train_chunk(state, start, stop, loss_every, losses)
        recorded: list[tuple[int, float]] = []
        if losses.shape[1]:
            first = -(-start // loss_every) * loss_every
            epochs_done = range(first, stop, loss_every)
            for history, row in zip(histories, losses.tolist()):
                history += zip(epochs_done, row)
            recorded = histories[0][-losses.shape[1]:]
        if diverged is None and not np.isfinite(state[0]).all():
            diverged = _first_bad_epoch(train_chunk, before, start, stop, n_nets)
        start = stop
        if report is not None and report(stop, recorded):
            break
    return Outcome(diverged, start)


def warn_divergence(epoch: int, learn_rate: float, stacklevel: int) -> None:
    """The one warning of a training run whose parameters became inf or NaN."""
    warnings.warn(
        f"training diverged: the parameters became inf or NaN in epoch {epoch} "
        f"(learn_rate={learn_rate!r}); a smaller learning rate may help",
        RuntimeWarning, stacklevel=stacklevel + 1)


class Reporter:
    """What ``train`` shows between chunks: the ``Epoch N loss: L`` lines and, optionally, a progress bar.

    The lines are written at once for each chunk of epochs. The bar (tqdm, on stderr, only on a
    terminal) shows the epoch, the latest loss and the SGD steps per second; the lines are then
    written above it. A reporter never asks to stop; a subclass may (early stopping).

    Raises
    ------
    ImportError
        If ``progress`` is asked for and tqdm is not installed (before any training).
    """

    def __init__(self, verbose: bool, progress: bool, epochs: int, steps_per_epoch: int) -> None:
        self.verbose = verbose
        self.bar = None
        self.steps_per_epoch = steps_per_epoch
        if progress:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                raise ImportError("progress=True needs tqdm: pip install 'tinynet[progress]' "
                                  "(or pip install tqdm)") from None
            # disable=None: no bar where stderr is not a terminal (logs, pipes, CI)
            self.bar = tqdm(total=epochs, unit="epoch", disable=None, dynamic_ncols=True)
            self.started = time.perf_counter()

    def __call__(self, epochs_done: int, recorded: list[tuple[int, float]]) -> bool:
        if self.verbose and recorded:
            text = "".join(["Epoch %d loss: %.3f\n" % pair for pair in recorded])
            if self.bar is not None and not self.bar.disable:
                self.bar.write(text.rstrip("\n"), file=sys.stdout)
            else:
                sys.stdout.write(text)
                sys.stdout.flush()
        if self.bar is not None and not self.bar.disable:
            elapsed = max(time.perf_counter() - self.started, 1e-9)
            postfix = {"steps/s": f"{epochs_done * self.steps_per_epoch / elapsed:.3g}"}
            if recorded:
                postfix["loss"] = f"{recorded[-1][1]:.4g}"
            self.bar.set_postfix(postfix, refresh=False)
            self.bar.update(epochs_done - self.bar.n)
        return False

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
