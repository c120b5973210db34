"""``train_many``: many networks over the same data, on all cores, stepped together in vectors on each."""

import copy
import inspect
import itertools
import numbers
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple, cast

import numpy as np
from numpy.typing import ArrayLike

from ._backend import load_backend
from ._codes import aligned_zeros, lanes, net_many_scratch
from ._model import Model, hold, parameters_of, set_trained
from ._network import TUTORIAL_ORDER, Network
from ._rules import kernel_options
from ._training import run_training, warn_divergence
from ._tutorial import OurNeuralNetwork
from ._validation import as_features, as_labels, as_real, as_schedule
from ._watch import SweepSummary, TrainingRecord

__all__ = ["train_many"]

def _block_lanes(backend, n_nets, dtype):
    """The lanes of a backend's blocks for n_nets networks of a dtype: ``_codes.lanes(dtype)`` for the
    compiled kernels, which step a block's lanes together in vectors; for the pure-Python ones, which
    train each lane as a network of its own (padding would be pure waste there), one block of exactly
    the networks."""
    return n_nets if backend == "python" else lanes(dtype)


def _padded(rows, width):
    """One row per network, padded to a whole number of blocks of ``width`` with copies of the first
    row (networks that are trained and dropped): (n_blocks, width, ...)."""
    n_blocks = -(-len(rows) // width)
    padded = np.concatenate([rows, np.repeat(rows[:1], n_blocks * width - len(rows), axis=0)])
    return padded.reshape(n_blocks, width, *rows.shape[1:])


def _to_blocks(rows, width):
    """(n_nets, k) rows as (n_blocks, k, width) blocks of their dtype, structure-of-arrays, padded as
    _padded pads, on a cache line (see _codes.ALIGN: the kernels step each block's lanes in whole
    vectors)."""
    padded = _padded(rows, width).transpose(0, 2, 1)
    blocks = aligned_zeros(padded.shape, rows.dtype)
    blocks[...] = padded
    return blocks


def _from_blocks(blocks, n_nets):
    """The first n_nets networks' rows of ``_to_blocks``'s blocks."""
    n_blocks, k, lanes = blocks.shape
    return blocks.transpose(0, 2, 1).reshape(n_blocks * lanes, k)[:n_nets]


def _train_blocks(train_chunk, state, n_nets, epochs, loss_every, steps_per_epoch, stop):
    """Run ``train_chunk`` over the blocks of ``state`` (parameters first) for ``epochs`` epochs.

    Returns the trained parameters, each network's loss history, the epoch of divergence (or None) and
    the rest of the trained state (each array as the parameters, network by network).
    """
    n_lanes = state[0].shape[0] * state[0].shape[2]
    histories: list[list[tuple[int, float]]] = [[] for _ in range(n_lanes)]
    outcome = run_training(train_chunk, state, epochs, loss_every, steps_per_epoch * n_lanes, histories,
                           None if stop is None else lambda *_: stop.is_set())
    rest = [_from_blocks(array, n_nets) for array in state[1:]]
    return _from_blocks(state[0], n_nets), histories[:n_nets], outcome.diverged, rest


def _train_tutorial_block(backend, params, data, labels, learn_rate, epochs, loss_every, *, stop=None):
    """Train some ``OurNeuralNetwork``s together; a plain function of arrays, so that any joblib
    backend can run it.

    ``params`` is (n_nets, 9). The networks go to the kernel in blocks (:func:`_block_lanes`).
    ``stop``, a ``threading.Event`` on the thread pool, ends the training between two chunks when set
    (Ctrl-C in the caller's thread). Returns what :func:`_train_blocks` returns.
    """
    kernels = load_backend(backend, "tutorial32" if params.dtype == np.float32 else "tutorial")

    def train_chunk(state, *epochs_and_losses):
        kernels.train_many(state[0], data, labels, learn_rate, *epochs_and_losses)

    blocks = _to_blocks(params, _block_lanes(backend, len(params), params.dtype))
    return _train_blocks(train_chunk, (blocks,), len(params), epochs, loss_every, len(data), stop)


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
    # each network's options record, in blocks as its parameters: one record made for each
    # distinct (learning rate, momentum), by their bits (joining 64 records one by one took 0.6 ms)
    made: dict[tuple[str, str], int] = {}
    rows = [made.setdefault((rate.hex(), momentum.hex()), len(made))
            for rate, momentum in zip(learn_rates.tolist(), momenta.tolist())]
    records = np.concatenate([kernel_options(learn_rate=float.fromhex(rate), momentum=float.fromhex(momentum))
                              for rate, momentum in made])
    n_lanes = _block_lanes(backend, len(params), params.dtype)
    options = _padded(records[rows], n_lanes)
    scratch = net_many_scratch(sizes.tolist(), params.dtype)

    def train_chunk(state, *epochs_and_losses):
        blocks, velocity = state
        kernels.net_train_many(blocks, sizes, *codes, data, targets, options, velocity, *epochs_and_losses,
                               *scratch)

    state = (_to_blocks(params, n_lanes), _to_blocks(velocities, n_lanes))
    # The work of an epoch in tutorial-network steps (9 parameters each), as Network.train counts it.
    return _train_blocks(train_chunk, state, len(params), epochs, loss_every,
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
    stop = threading.Event()
    stop.set()
    for block, group in tasks:
        if group.kind == "plans":
            for net in block:
                kernels = net._kernels
                if net.backend != "numba" or all(kernel.signatures for kernel in (
                        kernels.net_train, kernels.net_train_batch, kernels.net_loss)):
                    continue
                func, networks, plans = group.task([net])
                func(networks, plans, stop=stop)
            continue
        func, backend, *args = group.task(block[:1])
        if backend != "numba" or func in seen:
            continue
        seen.add(func)
        family, name = _KERNELS[func]
        if (args[2] if func is _train_network_block else args[0]).dtype == np.float32:   # (its params)
            family += "32"
        if not getattr(load_backend(backend, family), name).signatures:
            func(backend, *args, stop=stop)


#: tinynet's worker threads, one pool per worker count, kept between calls: starting threads costs
#: 0.1-1 ms a call (a thread's start waits for the GIL that the caller's other workers hold), as much as
#: the whole training of some sweeps. A forked child starts without them.
_THREAD_POOLS: dict[int, Any] = {}
_THREAD_POOLS_LOCK = threading.Lock()
if hasattr(os, "register_at_fork"):      # POSIX
    os.register_at_fork(after_in_child=_THREAD_POOLS.clear)


def _thread_pool(workers):
    """The kept pool of ``workers`` threads."""
    from concurrent.futures import ThreadPoolExecutor

    with _THREAD_POOLS_LOCK:
        pool = _THREAD_POOLS.get(workers)
        if pool is None:
            pool = _THREAD_POOLS[workers] = ThreadPoolExecutor(workers, thread_name_prefix="tinynet")
        return pool


def _pool(n_jobs):
    """A function that runs tasks ``(function, *arguments)`` in parallel, its worker count, and
    whether it runs them on threads.

    The pool is joblib's active backend (``joblib.parallel_config``), threads by default. For threads,
    tinynet's own kept thread pool does the same work without joblib's 10 ms polling of results, which
    would dominate jobs of a few milliseconds.
    """
    from concurrent.futures import wait

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
            pool = _thread_pool(workers)
            futures = [pool.submit(func, *args, stop=stop) for func, *args in tasks]
            try:
                return [future.result() for future in futures]
            except BaseException:
                # Ctrl-C (or a task's error): the tasks not begun are dropped, the running ones stop at
                # the end of their chunk (milliseconds), not of their run; then the error goes on.
                stop.set()
                for future in futures:
                    future.cancel()
                wait(futures)
                raise
    return run, workers, isinstance(backend, ThreadingBackend)


def _split(group, workers, size):
    """A group's networks as one part per worker (at most), in whole blocks of ``size`` (the lanes of
    their kernel's blocks, so that only the last part's last block is padded); a list of index ranges."""
    n_blocks = -(-len(group) // size)
    count = min(workers, n_blocks)
    bounds = [min(len(group), size * (n_blocks * i // count)) for i in range(count + 1)]
    return [group[lo:hi] for lo, hi in itertools.pairwise(bounds)]


_MIXED = "networks must be all OurNeuralNetwork or all Network objects, not a mixture"


class _Group(NamedTuple):
    """Networks trained the same way: ``kind`` "lanes" or "lanes with momentum" (stepped together on
    a lanes kernel, ``task(block)`` making a block's task) or "plans" (each by its own plan)."""

    kind: str
    networks: list[Model]
    task: Callable[[list[Model]], tuple[Any, ...]]
    #: The lanes groups' epochs, each network's learning rate (by id), and the networks' dtype.
    epochs: int = 0
    rates: dict[int, float] = {}  # noqa: RUF012 (a NamedTuple's default, never changed)
    dtype: Any = np.float64


def _tutorial_groups(networks, data, all_y_trues, learn_rate, epochs, loss_every, options, validation):
    """The checked arguments for OurNeuralNetworks: groups of networks to train together (one per
    backend), each with a function making a block's task; no plans (None)."""
    for net in networks:
        if not isinstance(net, OurNeuralNetwork):
            raise TypeError(_MIXED)
    if np.ndim(learn_rate) != 0:
        raise ValueError("one learn_rate per network needs Network objects: OurNeuralNetworks are "
                         "trained together at one rate")
    if np.ndim(options["momentum"]) != 0 or as_real(options["momentum"], "momentum") != 0.0:
        raise ValueError("momentum needs Network objects: OurNeuralNetwork trains without it")
    given = [name for name, default in _OPTIONS.items() if name != "momentum"
             and not (options[name] is default or (np.ndim(options[name]) == 0 and options[name] == default))]
    if given or validation is not None:
        raise ValueError(f"{(given or ['validation'])[0]} needs Network objects: OurNeuralNetwork trains "
                         "by per-sample SGD with learn_rate, epochs and loss_every only")
    array = as_features(data)
    labels = as_labels(all_y_trues, array.shape[0])
    learn_rate, epochs, loss_every = as_schedule(learn_rate, epochs, loss_every)
    groups = []
    for backend in dict.fromkeys(net.backend for net in networks):
        def task(block, backend=backend):
            return (_train_tutorial_block, backend, parameters_of(block), array, labels, learn_rate,
                    epochs, loss_every)
        members = [net for net in networks if net.backend == backend]
        groups.append(_Group("lanes", members, task, epochs, {id(net): learn_rate for net in members}))
    return groups, None


#: train_many's options beyond the tutorial's (learn_rate, epochs, loss_every), with Network.train's
#: defaults (from its signature): each a scalar or one value per network.
_OPTIONS = {name: parameter.default for name, parameter in inspect.signature(Network.train).parameters.items()
            if name in ("momentum", "shuffle", "batch_size", "optimizer", "nesterov", "alpha", "beta_1",
                        "beta_2", "epsilon", "patience", "tol", "restore_best", "schedule", "power_t")}


def _per_network_values(value, name, n_nets):
    """A train option as one value per network: a scalar (a number, a string, a bool or None) is
    every network's; a sequence or array must have one value per network."""
    if value is None or isinstance(value, (str, int, float, np.generic)) or np.ndim(value) == 0:
        return [value] * n_nets, False
    values = value.tolist() if isinstance(value, np.ndarray) else list(value)
    if np.ndim(value) != 1 or len(values) != n_nets:
        raise ValueError(f"{name} must be one value, or one per network ({n_nets}), got shape "
                         f"{np.shape(value)}")
    return values, True


def _lanes_plan(plan):
    """Whether a Network's plan is per-sample SGD in order, as the lanes kernel steps it (momentum or
    none; no shuffling, schedule or watched loss)."""
    return plan.per_sample and not plan.shuffle and not plan.stepwise


def _train_networks(networks, plans, *, stop=None):
    """Train some Networks (copies of the caller's), each by its own plan, one after another, exactly
    as its own ``train`` (the same code); a plain function, so that any joblib backend can run it.
    Returns each network with its :class:`TrainingRecord` and the epoch it diverged in (or None).
    ``stop`` (see :func:`_train_tutorial_block`) ends the work at the end of a chunk."""
    results = []
    for net, plan in zip(networks, plans):
        with net._lock:
            record, outcome = net._train_locked(plan, False, False, stop, warn=False)
        results.append((net, record, outcome.diverged))
        if stop is not None and stop.is_set():
            break
    return results


def _network_groups(networks, position, data, all_y_trues, learn_rate, epochs, loss_every, options,
                    validation):
    """As :func:`_tutorial_groups`, for Networks: each network's options checked against it (its own
    ``train``'s checks, in order, the first refusal naming the network); networks of one
    configuration trained per sample in order go to the lanes kernel, one group per (configuration,
    backend, epochs, loss_every, momentum or none); every other network is a group of its own,
    trained by its plan. ``position`` is each network's index, by id. Returns the groups and each
    network's plan."""
    for net in networks:
        if not isinstance(net, Network):
            raise TypeError(_MIXED)
    n_nets = len(networks)
    columns, varying = {}, []
    for name, value in {"learn_rate": learn_rate, "epochs": epochs, "loss_every": loss_every,
                        **options}.items():
        columns[name], many = _per_network_values(value, name, n_nets)
        if many:
            varying.append(columns[name])
    arrays = {}            # the checked data of each kind of input (features, outputs, dtype, targets)
    # A plan depends on the network only through its kind of input (Network._plan reads nothing else
    # of it), so networks of one kind given the same options share one: a sweep of many networks
    # checks its options once, not once per network (15 us each). The options given one per network
    # key by type, value and repr, so that 1 and True (equal, one hash) or 0.0 and -0.0 are checked
    # apart; a value that does not hash is checked for its network alone.
    shared: dict[tuple[Any, ...], Any] = {}
    plans = []
    # Each network's group: the networks of one configuration and one plan go to the same one (a lanes
    # kernel's, or the group of networks trained by their own plans), found once per pair.
    lanes: dict[tuple[Any, ...], list[int]] = {}
    planned: list[int] = []
    group_of: dict[tuple[Any, ...], list[int]] = {}
    for index, net in enumerate(networks):
        # (the attributes behind the read-only properties sizes, activation, ..., read directly: this
        # loop runs once per network of a sweep)
        sizes, output, loss, dtype = net._layer_sizes, net._output, net._loss_name, net._dtype
        config = (sizes, net._activation, output, loss, dtype, net._backend)
        kind = (sizes[0], sizes[-1], output, loss, dtype)
        try:
            if kind not in arrays:
                array = net._features(data, name="data")
                arrays[kind] = (array, net._targets(all_y_trues, array.shape[0], name="all_y_trues",
                                                   data_name="data"), net._validation(validation))
            key = (kind, *((type(column[index]), column[index], repr(column[index])) for column in varying)) \
                if varying else kind
            try:
                plan, hashable = shared.get(key), True
            except TypeError:
                plan, hashable = None, False
            if plan is None:
                plan = net._plan(*arrays[kind], **{name: column[index] for name, column in columns.items()})
                if hashable:
                    shared[key] = plan
            plans.append(plan)
        except (TypeError, ValueError) as error:
            if index == 0 and not varying:     # the options of every network: name no network
                raise
            raise type(error)(f"network {index}: {error}") from None
        slot = (config, id(plan))           # (plans holds every plan until the end: ids stay distinct)
        members = group_of.get(slot)
        if members is None:
            members = group_of[slot] = planned if not _lanes_plan(plan) else lanes.setdefault(
                (*config, plan.epochs, plan.loss_every, plan.optimizer["momentum"] != 0.0), [])
        members.append(index)
    groups = []
    for (*_, backend, group_epochs, group_every, momentum_on), members in lanes.items():
        first, first_plan = networks[members[0]], plans[members[0]]
        rates = {id(networks[i]): plans[i].learn_rate for i in members}
        # the tutorial's network with one learning rate and no momentum: the tutorial's lanes kernel
        tutorial = first._is_tutorial_network() and not momentum_on and len(set(rates.values())) == 1
        labels = np.ascontiguousarray(first_plan.targets[:, 0])

        def task(block, backend=backend, tutorial=tutorial, first=first, first_plan=first_plan,
                 group_epochs=group_epochs, group_every=group_every, labels=labels):
            chosen = [plans[position[id(net)]] for net in block]
            if tutorial:
                return (_train_tutorial_networks_block, backend, parameters_of(block), first_plan.data,
                        labels, chosen[0].learn_rate, group_epochs, group_every)
            return (_train_network_block, backend, first.sizes, first._kernel_codes, parameters_of(block),
                    np.array([net._moments[0] for net in block]), first_plan.data, first_plan.targets,
                    np.array([plan.learn_rate for plan in chosen]),
                    np.array([plan.optimizer["momentum"] for plan in chosen]), group_epochs, group_every)
        groups.append(_Group("lanes with momentum" if momentum_on else "lanes",
                             [networks[i] for i in members], task, group_epochs, rates, first.dtype))
    if planned:
        def own_plans(block):
            # copies, trained in the workers and taken back (_take_state) once every task is done
            return (_train_networks, [copy.deepcopy(net) for net in block],
                    [plans[position[id(net)]] for net in block])
        groups.append(_Group("plans", [networks[i] for i in planned], own_plans, 0, {}))
    return groups, plans


Each = Any      # an option's value for every network, or a sequence of one per network


def train_many(networks: Iterable[Model], data: ArrayLike, all_y_trues: ArrayLike, n_jobs: int | None = None,
               *, learn_rate: Each = 0.1, epochs: Each = 1000, loss_every: Each = 10, momentum: Each = 0.0,
               validation: tuple[ArrayLike, ArrayLike] | None = None, shuffle: Each = False,
               batch_size: Each = None, optimizer: Each = "sgd", nesterov: Each = False, alpha: Each = 0.0,
               beta_1: Each = 0.9, beta_2: Each = 0.999, epsilon: Each = 1e-8, patience: Each = None,
               tol: Each = 1e-4, restore_best: Each = False, schedule: Each = "constant",
               power_t: Each = 0.5) -> SweepSummary:
    """Train many networks on the same data, each exactly as its own ``train`` would, in parallel.

    Each network ends bit for bit where its own ``net.train(data, all_y_trues, ...)`` with the same
    options would leave it: its parameters, optimizer state, generator (shuffling), ``loss_history``
    and ``validation_history``. Every option of :meth:`Network.train` is taken, each either one value
    for all or one per network (a sequence): seeds x learning rates x optimizers x schedules in one
    call, networks of different sizes mixed. Each network stops on its own (``patience``); a stopped
    network costs nothing afterwards.

    Two levers: the work is spread over worker threads (the compiled kernels release the GIL), and
    networks trained per sample in order (SGD, with or without momentum; no mini-batch, L2,
    shuffling, schedule or validation) of one configuration are stepped 32 at a time (64 in float32)
    over each sample, lane by lane in vector instructions (the same arithmetic as each network's own).
    Every other network trains by its own kernels, one network per task.

    The pool is joblib's, so the same call runs on processes or a cluster inside
    ``joblib.parallel_config(backend=...)`` (for example ``"loky"``, or ``"dask"`` with a
    ``dask.distributed`` client): the trained networks come back into the caller's.

    Parameters
    ----------
    networks : sequence of OurNeuralNetwork, or sequence of Network
        Distinct networks (any backends). Either all ``OurNeuralNetwork`` (trained with
        ``learn_rate``, ``epochs`` and ``loss_every`` only, one value for all), or all ``Network``
        (any sizes and configurations).
    data : array_like, shape (n, 2), or (n, sizes[0]) for Networks
    all_y_trues : array_like, shape (n,), or the targets ``Network.train`` takes
    n_jobs : int or None
        Workers to use; None or -1 means every CPU (or every worker of the active joblib backend).
    learn_rate, epochs, loss_every, momentum
        As for ``train``; for Networks, each one value or one per network.
    validation : (X_val, Y_val) or None
        One validation set for every network (as for :meth:`Network.train`).
    shuffle, batch_size, optimizer, nesterov, alpha, beta_1, beta_2, epsilon, patience, tol, \
    restore_best, schedule, power_t
        As for :meth:`Network.train`, each one value or one per network (Networks only).

    Returns
    -------
    SweepSummary
        One :class:`TrainingRecord` per network, in order: the epochs run, why it stopped, its best
        watched loss and epoch, its last learning rate (``summary.to_frame()``: a pandas DataFrame).

    Raises
    ------
    TypeError
        If ``networks`` holds something other than networks of one of the two classes, or as for
        ``train``.
    ValueError
        If a network appears twice, a per-network option has not one value per network, an option
        other than the tutorial's is asked of ``OurNeuralNetwork``s, or as for ``train`` (a network
        holding another optimizer's state included): the message names the network when options
        differ between networks. Nothing is changed when an argument is refused.

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
    index = {id(net): i for i, net in enumerate(networks)}
    if len(index) != len(networks):
        raise ValueError("networks must be distinct: the same network appears more than once")
    if n_jobs is not None and (isinstance(n_jobs, (bool, np.bool_))
                               or not isinstance(n_jobs, numbers.Integral)):
        raise TypeError(f"n_jobs must be an integer or None, not {type(n_jobs).__name__}")
    n_jobs = None if n_jobs is None else int(n_jobs)
    if n_jobs == 0:
        raise ValueError("n_jobs must not be 0: use a positive count, -1 for every CPU, or None")
    options = {"momentum": momentum, "shuffle": shuffle, "batch_size": batch_size, "optimizer": optimizer,
               "nesterov": nesterov, "alpha": alpha, "beta_1": beta_1, "beta_2": beta_2, "epsilon": epsilon,
               "patience": patience, "tol": tol, "restore_best": restore_best, "schedule": schedule,
               "power_t": power_t}
    if networks and isinstance(networks[0], Network):
        groups, plans = _network_groups(networks, index, data, all_y_trues, learn_rate, epochs, loss_every,
                                        options, validation)
    else:
        groups, plans = _tutorial_groups(networks, data, all_y_trues, learn_rate, epochs, loss_every, options,
                                         validation)
    if not networks:
        return SweepSummary()
    run, workers, threads = _pool(n_jobs)
    tasks = []
    for group in groups:
        if group.kind != "plans":
            tasks += [(block, group) for block in _split(group.networks, workers, lanes(group.dtype))]
        else:       # one network per task on threads (the pool balances them); a few per task elsewhere
            size = 1 if threads else -(-len(group.networks) // (4 * workers))
            tasks += [(group.networks[i:i + size], group) for i in range(0, len(group.networks), size)]
    records: list[TrainingRecord | None] = [None] * len(networks)
    diverged = []
    with hold(networks):
        if plans is not None:
            for i, (net, plan) in enumerate(zip(networks, plans)):
                try:
                    # as its own train checks, before any network trains (plans: Networks')
                    cast(Network, net)._check_optimizer(plan)
                except ValueError as error:
                    raise ValueError(f"network {i}: {error}") from None
        if workers > 1:
            _compile_here(tasks)
        results = run([group.task(block) for block, group in tasks])
        for (block, group), result in zip(tasks, results):
            if group.kind == "plans":           # networks trained by their own plans
                for net, (trained, record, epoch) in zip(block, result):
                    net._take_state(trained)
                    records[index[id(net)]] = record
                    if epoch is not None:
                        diverged.append((epoch, record.learn_rate))
                continue
            params, histories, epoch, rest = result
            made: dict[float, TrainingRecord] = {}      # the records, one per learning rate (immutable)
            for row, (net, trained, history) in enumerate(zip(block, params, histories)):
                set_trained(net, trained, history)
                if plans is not None:       # a Network: as its train leaves it, without validation
                    net.validation_history = []
                if rest:        # a Network's SGD velocities, its optimizer state when it has momentum
                    net._moments[0] = rest[0][row]
                    if group.kind == "lanes with momentum":
                        net._optimizer = "sgd"
                rate = group.rates[id(net)]
                record = made.get(rate)
                if record is None:
                    record = made[rate] = TrainingRecord(group.epochs, "completed", None, None, rate)
                records[index[id(net)]] = record
            if epoch is not None:
                diverged.append((epoch, max(group.rates[id(net)] for net in block)))
    if diverged:
        warn_divergence(*min(diverged), stacklevel=2)
    return SweepSummary(records)
