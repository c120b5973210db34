"""``train_many``: many networks over the same data, on all cores, stepped together in vectors on each."""

import itertools
import numbers
import threading
from collections.abc import Iterable

import numpy as np
from numpy.typing import ArrayLike

from ._backend import load_backend
from ._codes import LANES, aligned_zeros, net_many_scratch
from ._model import Model, hold, parameters_of, set_trained
from ._network import TUTORIAL_ORDER, Network
from ._rules import OPTIMIZER_OF, kernel_options
from ._training import run_training, warn_divergence
from ._tutorial import OurNeuralNetwork
from ._validation import as_count, as_features, as_labels, as_real, as_real_array, check_finite

__all__ = ["train_many"]

def _padded(rows):
    """One row per network, padded to a whole number of blocks of LANES with copies of the first row
    (networks that are trained and dropped): (n_blocks, LANES, ...)."""
    n_blocks = -(-len(rows) // LANES)
    padded = np.concatenate([rows, np.repeat(rows[:1], n_blocks * LANES - len(rows), axis=0)])
    return padded.reshape(n_blocks, LANES, *rows.shape[1:])


def _to_blocks(rows):
    """(n_nets, k) rows as (n_blocks, k, LANES) blocks of their dtype, structure-of-arrays, padded as
    _padded pads, on a cache line (see _codes.ALIGN: the kernels step each block's LANES lanes in whole
    vectors)."""
    padded = _padded(rows).transpose(0, 2, 1)
    blocks = aligned_zeros(padded.shape, rows.dtype)
    blocks[...] = padded
    return blocks


def _from_blocks(blocks, n_nets):
    """The first n_nets networks' rows of ``_to_blocks``'s blocks."""
    n_blocks, k, _ = blocks.shape
    return blocks.transpose(0, 2, 1).reshape(n_blocks * LANES, k)[:n_nets]


def _train_blocks(train_chunk, state, n_nets, epochs, loss_every, steps_per_epoch, stop):
    """Run ``train_chunk`` over the blocks of ``state`` (parameters first) for ``epochs`` epochs.

    Returns the trained parameters, each network's loss history, the epoch of divergence (or None) and
    the rest of the trained state (each array as the parameters, network by network).
    """
    n_lanes = state[0].shape[0] * LANES
    histories: list[list[tuple[int, float]]] = [[] for _ in range(n_lanes)]
    outcome = run_training(train_chunk, state, epochs, loss_every, steps_per_epoch * n_lanes, histories,
                           None if stop is None else lambda *_: stop.is_set())
    rest = [_from_blocks(array, n_nets) for array in state[1:]]
    return _from_blocks(state[0], n_nets), histories[:n_nets], outcome.diverged, rest


def _train_tutorial_block(backend, params, data, labels, learn_rate, epochs, loss_every, *, stop=None):
    """Train some ``OurNeuralNetwork``s together; a plain function of arrays, so that any joblib
    backend can run it.

    ``params`` is (n_nets, 9). The networks go to the kernel in blocks of ``LANES``. ``stop``, a
    ``threading.Event`` on the thread pool, ends the training between two chunks when set (Ctrl-C in
    the caller's thread). Returns what :func:`_train_blocks` returns.
    """
    kernels = load_backend(backend, "tutorial32" if params.dtype == np.float32 else "tutorial")

    def train_chunk(state, *epochs_and_losses):
        kernels.train_many(state[0], data, labels, learn_rate, *epochs_and_losses)

    return _train_blocks(train_chunk, (_to_blocks(params),), len(params), epochs, loss_every, len(data),
                         stop)


#: The tutorial's order of parameters back to Network's.
_NETWORK_ORDER = list(np.argsort(TUTORIAL_ORDER))


def _train_tutorial_networks_block(backend, params, data, labels, learn_rate, epochs, loss_every, *,
                                   stop=None):
    """Train some tutorial-shaped ``Network``s (sizes (2, 2, 1), sigmoid, mse; no momentum; one learning
    rate) on the tutorial's lanes kernel (:func:`_train_tutorial_block`), as ``Network.train`` trains
    one of them on the tutorial's kernel: the same arithmetic as the general kernel, in straight-line
    code. ``params`` is (n_nets, 9) in Network's order, and so is what comes back."""
    trained, histories, diverged, _ = _train_tutorial_block(
        backend, np.ascontiguousarray(params[:, TUTORIAL_ORDER]), data, labels, learn_rate, epochs,
        loss_every, stop=stop)
    return trained[:, _NETWORK_ORDER], histories, diverged, []


def _train_network_block(backend, sizes, codes, params, velocities, data, targets, learn_rates, momenta,
                         epochs, loss_every, *, stop=None):
    """Train some ``Network``s of one configuration together (see :func:`_train_tutorial_block`).

    ``params`` and ``velocities`` (their momentum's, as they start) are (n_nets, n_params), of the
    networks' dtype (float32 networks train on the float32 kernels); ``learn_rates`` and ``momenta``
    (n_nets,), each network's; the networks all have momentum, or none.
    """
    kernels = load_backend(backend, "network32" if params.dtype == np.float32 else "network")
    sizes = np.array(sizes, dtype=np.int64)
    # each network's options record, in blocks of LANES as its parameters
    options = _padded(np.concatenate([kernel_options(learn_rate=float(rate), momentum=float(momentum))
                                      for rate, momentum in zip(learn_rates, momenta)]))
    scratch = net_many_scratch(sizes.tolist(), params.dtype)

    def train_chunk(state, *epochs_and_losses):
        blocks, velocity = state
        kernels.net_train_many(blocks, sizes, *codes, data, targets, options, velocity, *epochs_and_losses,
                               *scratch)

    blocks = _to_blocks(params)
    # The work of an epoch in tutorial-network steps (9 parameters each), as Network.train counts it.
    return _train_blocks(train_chunk, (blocks, _to_blocks(velocities)), len(params), epochs, loss_every,
                         len(data) * max(1, params.shape[1] // 9), stop)


#: Each block function's kernel: (the kernel family, the kernel's name).
_KERNELS = {_train_tutorial_block: ("tutorial", "train_many"),
            _train_tutorial_networks_block: ("tutorial", "train_many"),
            _train_network_block: ("network", "net_train_many")}


def _compile_here(tasks):
    """Numba compiles a kernel at its first call in a process (or loads it from its disk cache), for up
    to 20 s with a cold cache; in a worker thread, that compilation would hold up a Ctrl-C for as long.
    So each Numba kernel not yet compiled in this process is first called here, in the caller's
    thread, where Ctrl-C interrupts it: on a copy of one network of its group, stopping after one chunk
    of epochs (milliseconds), its result dropped."""
    seen = set()
    for block, task, _ in tasks:
        func, backend, *args = task(block[:1])
        if backend != "numba" or func in seen:
            continue
        seen.add(func)
        family, name = _KERNELS[func]
        if (args[2] if func is _train_network_block else args[0]).dtype == np.float32:   # (its params)
            family += "32"
        if not getattr(load_backend(backend, family), name).signatures:
            stop = threading.Event()
            stop.set()
            func(backend, *args, stop=stop)


def _pool(n_jobs):
    """A function that runs tasks ``(function, *arguments)`` in parallel, and its worker count.

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
            return joblib.Parallel(n_jobs=n_jobs)(joblib.delayed(func)(*args) for func, *args in tasks)
    elif workers == 1:
        def run(tasks):
            return [func(*args) for func, *args in tasks]
    else:
        def run(tasks):
            stop = threading.Event()
            with ThreadPoolExecutor(min(workers, len(tasks))) as pool:
                try:
                    return list(pool.map(lambda task: task[0](*task[1:], stop=stop), tasks))
                except KeyboardInterrupt:
                    # The workers stop at the end of their chunk (milliseconds), not of their run.
                    stop.set()
                    pool.shutdown(cancel_futures=True)
                    raise
    return run, workers


def _per_network(value, name, n_nets):
    """A scalar or one value per network, as an (n_nets,) float64 array of finite numbers."""
    if np.ndim(value) == 0:
        return np.full(n_nets, as_real(value, name))
    array = as_real_array(value, name)
    if array.shape != (n_nets,):
        raise ValueError(f"{name} must be one number, or one per network ({n_nets}), got shape "
                         f"{array.shape}")
    check_finite(array, name)
    return array


def _positive_rates(rates):
    """The learning rates, each > 0 (as every train requires); ValueError naming the first that is not."""
    bad = np.flatnonzero(~(np.asarray(rates) > 0))
    if bad.size:
        raise ValueError(f"learn_rate must be > 0, got {float(np.ravel(rates)[bad[0]])!r}"
                         + (f" (network {bad[0]})" if np.ndim(rates) else ""))
    return rates


def _split(group, workers):
    """A group's networks as one part per worker (at most), in whole blocks of LANES (so that only the
    last part's last block is padded); a list of index ranges."""
    n_blocks = -(-len(group) // LANES)
    count = min(workers, n_blocks)
    bounds = [min(len(group), LANES * (n_blocks * i // count)) for i in range(count + 1)]
    return [group[lo:hi] for lo, hi in itertools.pairwise(bounds)]


_MIXED = "networks must be all OurNeuralNetwork or all Network objects, not a mixture"


def _tutorial_groups(networks, data, all_y_trues, learn_rate, momentum, epochs, loss_every):
    """The checked arguments for OurNeuralNetworks: groups of networks to train together (one per
    backend), each with a function making a block's task; and the learning rate."""
    for net in networks:
        if not isinstance(net, OurNeuralNetwork):
            raise TypeError(_MIXED)
    if np.ndim(learn_rate) != 0:
        raise ValueError("one learn_rate per network needs Network objects: OurNeuralNetworks are "
                         "trained together at one rate")
    if np.ndim(momentum) != 0 or as_real(momentum, "momentum") != 0.0:
        raise ValueError("momentum needs Network objects: OurNeuralNetwork trains without it")
    array = as_features(data)
    labels = as_labels(all_y_trues, array.shape[0])
    learn_rate = _positive_rates(as_real(learn_rate, "learn_rate"))
    groups = []
    for backend in dict.fromkeys(net.backend for net in networks):
        def task(block, backend=backend):
            return (_train_tutorial_block, backend, parameters_of(block), array, labels, learn_rate,
                    epochs, loss_every)
        groups.append(([net for net in networks if net.backend == backend], task, False))
    return groups, learn_rate


def _network_groups(networks, data, all_y_trues, learn_rate, momentum, epochs, loss_every):
    """As :func:`_tutorial_groups`, for Networks of one configuration: one group per backend and
    momentum or none."""
    first = networks[0]
    for net in networks:
        if not isinstance(net, Network):
            raise TypeError(_MIXED)
        if net._config() != first._config():
            raise ValueError(f"the Networks must share one configuration (sizes, activation, output, "
                             f"loss, dtype): {net._config()} differs from {first._config()}")
    array = first._features(data, name="data")
    targets = first._targets(all_y_trues, array.shape[0], name="all_y_trues", data_name="data")
    learn_rates = _positive_rates(_per_network(learn_rate, "learn_rate", len(networks)))
    momenta = _per_network(momentum, "momentum", len(networks))
    outside = np.flatnonzero((momenta < 0.0) | (momenta >= 1.0))
    if outside.size:
        raise ValueError(f"momentum must be in [0, 1), got {float(momenta[outside[0]])!r} for network "
                         f"{outside[0]}")
    held = [net for net in networks if net._optimizer not in (None, "sgd")]
    if held:
        raise ValueError(f"train_many trains with SGD, but network {networks.index(held[0])} holds "
                         f"{OPTIMIZER_OF[held[0]._optimizer].label}'s optimizer state: call its "
                         "reset_optimizer() first")
    index = {id(net): i for i, net in enumerate(networks)}
    groups = []
    labels = np.ascontiguousarray(targets[:, 0])
    for key in dict.fromkeys((net.backend, bool(momenta[index[id(net)]])) for net in networks):
        members = [net for net in networks if (net.backend, bool(momenta[index[id(net)]])) == key]
        rates = learn_rates[[index[id(net)] for net in members]]
        # the tutorial's network with one learning rate and no momentum: the tutorial's lanes kernel
        tutorial = first._is_tutorial_network() and not key[1] and bool((rates == rates[0]).all())

        def task(block, backend=key[0], tutorial=tutorial):
            rows = [index[id(net)] for net in block]
            if tutorial:
                return (_train_tutorial_networks_block, backend, parameters_of(block), array, labels,
                        float(learn_rates[rows[0]]), epochs, loss_every)
            return (_train_network_block, backend, first.sizes, first._kernel_codes, parameters_of(block),
                    np.array([net._moments[0] for net in block]), array, targets, learn_rates[rows],
                    momenta[rows], epochs, loss_every)
        groups.append((members, task, key[1]))
    return groups, float(learn_rates.max())


def train_many(networks: Iterable[Model], data: ArrayLike, all_y_trues: ArrayLike,
               n_jobs: int | None = None, *, learn_rate: float | ArrayLike = 0.1, epochs: int = 1000,
               loss_every: int | None = 10, momentum: float | ArrayLike = 0.0) -> None:
    """Train many networks on the same data, each exactly as its own ``train`` would, in parallel.

    Two levers: groups of networks are spread over worker threads (the compiled kernels release the
    GIL), and within a group the kernel steps ``LANES`` (16) networks over each sample together, lane
    by lane in vector instructions (the same arithmetic as each network's own). Each network ends bit
    for bit where its own ``train`` would leave it (``net.train(data, all_y_trues, learn_rate=...,
    epochs=..., verbose=False)``, and for a ``Network`` also ``momentum=...``, without shuffling), with
    its own ``loss_history``.

    The pool is joblib's, so the same call runs on processes or a cluster inside
    ``joblib.parallel_config(backend=...)`` (for example ``"loky"``, or ``"dask"`` with a
    ``dask.distributed`` client): the trained parameters come back into the caller's networks.

    Parameters
    ----------
    networks : sequence of OurNeuralNetwork, or sequence of Network
        Distinct networks (any backends; networks on the same backend are trained together). Either
        all ``OurNeuralNetwork``, or all ``Network`` of one configuration (sizes, activation, output
        and loss; seeds, learning rates and momentum may differ).
    data : array_like, shape (n, 2), or (n, sizes[0]) for Networks
    all_y_trues : array_like, shape (n,), or the targets ``Network.train`` takes
    n_jobs : int or None
        Workers to use; None or -1 means every CPU (or every worker of the active joblib backend).
    learn_rate : float, or array_like of one float per network (Networks only), default 0.1
    epochs : int, default 1000
    loss_every : int or None, default 10
        As for ``train``.
    momentum : float, or array_like of one float per network, default 0.0
        As for :meth:`Network.train` (in [0, 1)); Networks only. Each network's velocities start from
        its optimizer state and stay in it, as its own ``train`` keeps them.

    Raises
    ------
    TypeError
        If ``networks`` holds something other than networks of one of the two classes, or as for
        ``train``.
    ValueError
        If a network appears twice, the Networks' configurations differ, a per-network value is
        asked of ``OurNeuralNetwork``s, a ``Network`` holds Adam's optimizer state (train_many trains
        with SGD: reset it first), or as for ``train``. Nothing is changed when an argument is
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
        if not isinstance(net, (OurNeuralNetwork, Network)):
            raise TypeError(f"networks must hold OurNeuralNetwork or Network objects, not "
                            f"{type(net).__name__}")
    if len({id(net) for net in networks}) != len(networks):
        raise ValueError("networks must be distinct: the same network appears more than once")
    if n_jobs is not None and (isinstance(n_jobs, (bool, np.bool_))
                               or not isinstance(n_jobs, numbers.Integral)):
        raise TypeError(f"n_jobs must be an integer or None, not {type(n_jobs).__name__}")
    n_jobs = None if n_jobs is None else int(n_jobs)
    if n_jobs == 0:
        raise ValueError("n_jobs must not be 0: use a positive count, -1 for every CPU, or None")
    epochs = as_count(epochs, "epochs")
    loss_every = 0 if loss_every is None else as_count(loss_every, "loss_every")
    family = _network_groups if networks and isinstance(networks[0], Network) else _tutorial_groups
    groups, rates = family(networks, data, all_y_trues, learn_rate, momentum, epochs, loss_every)
    if not networks:
        return
    run, workers = _pool(n_jobs)
    tasks = [(block, task, momentum_on) for group, task, momentum_on in groups
             for block in _split(group, workers)]

    diverged = []
    with hold(networks):
        if workers > 1:
            _compile_here(tasks)
        results = run([task(block) for block, task, _ in tasks])
        for (block, _, momentum_on), (params, histories, epoch, rest) in zip(tasks, results):
            for index, (net, row, history) in enumerate(zip(block, params, histories)):
                set_trained(net, row, history)
                if rest:        # a Network's SGD velocities, its optimizer state when it has momentum
                    net._moments[0] = rest[0][index]
                    if momentum_on:
                        net._optimizer = "sgd"
            if epoch is not None:
                diverged.append(epoch)
    if diverged:
        warn_divergence(min(diverged), rates, stacklevel=2)
