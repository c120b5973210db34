"""Running a backend's ``train`` kernel over many epochs: in chunks, with losses and divergence checks.

Shared by ``OurNeuralNetwork.train`` (one network) and ``tinynet.train_many`` (many). The kernel runs
in chunks of about ``CHUNK_STEPS`` sample steps (a few milliseconds when compiled): between chunks the
loss lines are printed, Python handles signals (Ctrl-C raises ``KeyboardInterrupt`` within
milliseconds, with every network as it was at the end of a whole step), and the parameters are checked
for inf and NaN.
"""

import warnings

import numpy as np

__all__ = ["CHUNK_STEPS", "run_training", "warn_divergence"]

#: Sample steps (samples x epochs x networks) per kernel call.
CHUNK_STEPS = 1 << 18


def count_multiples(start, stop, every):
    """How many integers in range(start, stop) are multiples of ``every`` (0 when every == 0)."""
    if every == 0 or stop <= start:
        return 0
    return (stop + every - 1) // every - (start + every - 1) // every


def _first_bad_epoch(train_chunk, state, start, stop):
    """Replay epochs start..stop-1 from ``state`` one at a time; the first after which one is not finite."""
    state = tuple(array.copy() for array in state)
    no_losses = np.empty((len(state[0]), 0))
    for epoch in range(start, stop):
        train_chunk(state, epoch, epoch + 1, 0, no_losses)
        if not np.isfinite(state[0]).all():
            return epoch
    return stop - 1  # not reached: the kernels are deterministic


def run_training(train_chunk, state, epochs, loss_every, steps_per_epoch, histories, report=None):
    """Train for ``epochs`` epochs, calling the kernel in chunks.

    Parameters
    ----------
    train_chunk : callable
        ``train_chunk(state, epoch_start, epoch_stop, loss_every, losses)`` runs a backend's training
        kernel over those epochs, updating the arrays of ``state`` in place and writing each
        network's recorded losses into its row of ``losses``.
    state : tuple of ndarray
        What the kernel updates: the parameters first, shape (k, ...) for k networks (then, for
        example, momentum velocities).
    epochs, loss_every : int
    steps_per_epoch : int
        The work of one epoch, in units of one sample step of the tutorial's network; sets the
        chunk size.
    histories : list of k lists
        Receive each network's recorded (epoch, loss) pairs as training goes (so that an interrupted
        run keeps what was recorded).
    report : callable or None
        Called after each chunk with the number of epochs done and network 0's (epoch, loss) pairs
        recorded in the chunk.

    Returns
    -------
    int or None
        The first epoch after which some parameter was inf or NaN, or None.
    """
    k = len(histories)
    diverged = None
    chunk = max(1, CHUNK_STEPS // max(1, steps_per_epoch))
    start = 0
    while start < epochs:
        stop = min(epochs, start + chunk)
        losses = np.empty((k, count_multiples(start, stop, loss_every)))
        before = tuple(array.copy() for array in state) if diverged is None else None
        train_chunk(state, start, stop, loss_every, losses)
        recorded = []
        if losses.shape[1]:
            first = -(-start // loss_every) * loss_every
            epochs_done = range(first, stop, loss_every)
            for history, row in zip(histories, losses.tolist()):
                history += zip(epochs_done, row)
            recorded = histories[0][-losses.shape[1]:]
        if report is not None:
            report(stop, recorded)
        if diverged is None and not np.isfinite(state[0]).all():
            diverged = _first_bad_epoch(train_chunk, before, start, stop)
        start = stop
    return diverged


def warn_divergence(epoch, learn_rate, stacklevel):
    """The one warning of a training run whose parameters became inf or NaN."""
    warnings.warn(
        f"training diverged: the parameters became inf or NaN in epoch {epoch} "
        f"(learn_rate={learn_rate!r}); a smaller learning rate may help",
        RuntimeWarning, stacklevel=stacklevel + 1)
