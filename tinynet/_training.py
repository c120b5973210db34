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


def _first_bad_epoch(kernels, params, data, labels, learn_rate, start, stop):
    """Replay epochs start..stop-1 from ``params`` one at a time; the first after which one is not finite."""
    params = params.copy()
    no_losses = np.empty((len(params), 0))
    for epoch in range(start, stop):
        kernels.train(params, data, labels, learn_rate, epoch, epoch + 1, 0, no_losses)
        if not np.isfinite(params).all():
            return epoch
    return stop - 1  # not reached: the kernels are deterministic


def run_training(kernels, params, data, labels, learn_rate, epochs, loss_every, histories,
                 report=None):
    """Train the networks in ``params`` (shape (k, 9), updated in place) for ``epochs`` epochs.

    Parameters
    ----------
    kernels : module
        A backend's kernel module.
    params : ndarray of float64, shape (k, 9), C-contiguous
    data, labels : ndarray of float64
        Checked and converted already.
    learn_rate : float
    epochs, loss_every : int
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
    k, n = len(params), len(data)
    diverged = None
    chunk = max(1, CHUNK_STEPS // (n * k))
    start = 0
    while start < epochs:
        stop = min(epochs, start + chunk)
        losses = np.empty((k, count_multiples(start, stop, loss_every)))
        before = params.copy() if diverged is None else None
        kernels.train(params, data, labels, learn_rate, start, stop, loss_every, losses)
        recorded = []
        if losses.shape[1]:
            first = -(-start // loss_every) * loss_every
            epochs_done = range(first, stop, loss_every)
            for history, row in zip(histories, losses.tolist()):
                history += zip(epochs_done, row)
            recorded = histories[0][-losses.shape[1]:]
        if report is not None:
            report(stop, recorded)
        if diverged is None and not np.isfinite(params).all():
            diverged = _first_bad_epoch(kernels, before, data, labels, learn_rate, start, stop)
        start = stop
    return diverged


def warn_divergence(epoch, learn_rate, stacklevel):
    """The one warning of a training run whose parameters became inf or NaN."""
    warnings.warn(
        f"training diverged: the parameters became inf or NaN in epoch {epoch} "
        f"(learn_rate={learn_rate!r}); a smaller learning rate may help",
        RuntimeWarning, stacklevel=stacklevel + 1)
