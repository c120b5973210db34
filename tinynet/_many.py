"""``train_many``: many networks over the same data, on all cores, stepped together in vectors on each."""

import itertools
import threading
from collections.abc import Iterable

import numpy as np
from numpy.typing import ArrayLike

from ._backend import load_backend
from ._codes import LANES
from ._model import hold, parameters_of, set_trained
from ._training import run_training, warn_divergence
from ._tutorial import OurNeuralNetwork
from ._validation import as_features, as_labels, as_schedule

__all__ = ["train_many"]

def _train_block(backend, params, data, labels, learn_rate, epochs, loss_every, *, stop=None):
    """Train some networks together; a plain function of arrays, so that any joblib backend can run it.

    ``stop``, a ``threading.Event`` on the thread pool, ends the training between two chunks when set
    (Ctrl-C in the caller's thread).

    ``params`` is (n_nets, 9). The networks go to the kernel in blocks of ``LANES``, structure-of-arrays
    (the last block padded with copies of the first network, which are dropped afterwards).

    Returns the trained parameters, each network's loss history and the epoch of divergence (or None).
    """
    n_nets = len(params)
    n_blocks = -(-n_nets // LANES)
    padded = np.concatenate([params, np.repeat(params[:1], n_blocks * LANES - n_nets, axis=0)])
    blocks = np.ascontiguousarray(padded.reshape(n_blocks, LANES, 9).transpose(0, 2, 1))
    histories: list[list[tuple[int, float]]] = [[] for _ in range(n_blocks * LANES)]
    kernels = load_backend(backend, "tutorial")

    def train_chunk(state, *epochs_and_losses):
        kernels.train_many(state[0], data, labels, learn_rate, *epochs_and_losses)

    outcome = run_training(train_chunk, (blocks,), epochs, loss_every, len(data) * n_blocks * LANES,
                           histories, None if stop is None else lambda *_: stop.is_set())
    trained = blocks.transpose(0, 2, 1).reshape(n_blocks * LANES, 9)[:n_nets]
    return trained, histories[:n_nets], outcome.diverged


def _pool(n_jobs):
    """A function that runs ``_train_block`` over argument tuples in parallel, and its worker count.

    The pool is joblib's active backend (``joblib.parallel_config``), threads by default. For threads,
    a plain thread pool does the same work without joblib's 10 ms polling of results, which would
    dominate jobs of a few milliseconds.
    """
    from concurrent.futures import ThreadPoolExecutor

    import joblib  # here, not at import time: it takes longer to import than tinynet itself
    from joblib.parallel import ThreadingBackend, get_active_backend

    backend, _ = get_active_backend(prefer="threads")
    n_jobs = -1 if n_jobs is None else n_jobs
    workers = joblib.effective_n_jobs(n_jobs)
    if not isinstance(backend, ThreadingBackend):
        def run(tasks):
            return joblib.Parallel(n_jobs=n_jobs)(joblib.delayed(_train_block)(*args) for args in tasks)
    elif workers == 1:
        def run(tasks):
            return [_train_block(*args) for args in tasks]
    else:
        def run(tasks):
            stop = threading.Event()
            with ThreadPoolExecutor(min(workers, len(tasks))) as pool:
                try:
                    return list(pool.map(lambda args: _train_block(*args, stop=stop), tasks))
                except KeyboardInterrupt:
                    # The workers stop at the end of their chunk (milliseconds), not of their run.
                    stop.set()
                    pool.shutdown(cancel_futures=True)
                    raise
    return run, workers


def train_many(networks: Iterable[OurNeuralNetwork], data: ArrayLike, all_y_trues: ArrayLike,
               n_jobs: int | None = None, *, learn_rate: float = 0.1, epochs: int = 1000,
               loss_every: int | None = 10) -> None:
    """Train many networks on the same data, each exactly as its own ``train`` would, in parallel.

    Two levers: groups of networks are spread over worker threads (the compiled kernels release the
    GIL), and within a group the kernel steps ``LANES`` (16) networks over each sample together, lane
    by lane in vector instructions (the same arithmetic as each network's own). Each network ends bit
    for bit where ``net.train(data, all_y_trues, learn_rate=..., epochs=..., verbose=False)`` would
    leave it, with its own ``loss_history``.

    The pool is joblib's, so the same call runs on processes or a cluster inside
    ``joblib.parallel_config(backend=...)`` (for example ``"loky"``, or ``"dask"`` with a
    ``dask.distributed`` client): the trained parameters come back into the caller's networks.

    Parameters
    ----------
    networks : sequence of OurNeuralNetwork
        Distinct networks (any backends; networks on the same backend are trained together).
    data : array_like, shape (n, 2)
    all_y_trues : array_like, shape (n,)
    n_jobs : int or None
        Workers to use; None or -1 means every CPU (or every worker of the active joblib backend).
    learn_rate : float, default 0.1
    epochs : int, default 1000
    loss_every : int or None, default 10
        As for :meth:`OurNeuralNetwork.train`.

    Raises
    ------
    TypeError
        If ``networks`` holds something other than ``OurNeuralNetwork``, or as for ``train``.
    ValueError
        If a network appears twice, or as for ``train``. Nothing is changed when an argument is
        refused.

    Warns
    -----
    RuntimeWarning
        Once, if some network's parameters become inf or NaN.

    Notes
    -----
    Ctrl-C stops the training within milliseconds on tinynet's thread pool (each worker at the end of
    its current chunk of epochs), raising ``KeyboardInterrupt``; the networks are then left as they
    were before the call.
    """
    networks = list(networks)
    for net in networks:
        if not isinstance(net, OurNeuralNetwork):
            raise TypeError(f"networks must hold OurNeuralNetwork objects, not {type(net).__name__}")
    if len({id(net) for net in networks}) != len(networks):
        raise ValueError("networks must be distinct: the same network appears more than once")
    array = as_features(data)
    labels = as_labels(all_y_trues, array.shape[0])
    learn_rate, epochs, loss_every = as_schedule(learn_rate, epochs, loss_every)
    if n_jobs is not None and (isinstance(n_jobs, bool) or not isinstance(n_jobs, int)):
        raise TypeError(f"n_jobs must be an integer or None, not {type(n_jobs).__name__}")
    if n_jobs == 0:
        raise ValueError("n_jobs must not be 0: use a positive count, -1 for every CPU, or None")
    if not networks:
        return
    run, workers = _pool(n_jobs)

    # For each backend, one group of networks per worker, split in whole blocks of LANES (so that
    # only the last group's last block is padded).
    blocks = []
    for backend in dict.fromkeys(net.backend for net in networks):
        group = [net for net in networks if net.backend == backend]
        n_blocks = -(-len(group) // LANES)
        count = min(workers, n_blocks)
        bounds = [min(len(group), LANES * (n_blocks * i // count)) for i in range(count + 1)]
        blocks += [(backend, group[lo:hi]) for lo, hi in itertools.pairwise(bounds)]

    diverged = []
    with hold(networks):
        results = run([(backend, parameters_of(block), array, labels, learn_rate, epochs, loss_every)
                       for backend, block in blocks])
        for (_, block), (params, histories, epoch) in zip(blocks, results):
            for net, row, history in zip(block, params, histories):
                set_trained(net, row, history)
            if epoch is not None:
                diverged.append(epoch)
    if diverged:
        warn_divergence(min(diverged), learn_rate, stacklevel=2)
