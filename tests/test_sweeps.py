"""Sweeps: train_many with every option of Network.train, per-network values, mixed configurations,
a validation set, learning-rate schedules and early stopping per network; each network bit for bit
as its own train."""

import copy
import math
import pickle
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

from tinynet import Network, OurNeuralNetwork, TrainingRecord, train_many
from tinynet._backend import BACKENDS

REPO = Path(__file__).resolve().parents[1]
CONFIGS = [dict(sizes=(5, 7, 3), activation="relu", output="softmax", loss="cross_entropy"),
           dict(sizes=(5, 9, 3), activation="tanh", output="softmax", loss="cross_entropy"),
           dict(sizes=(5, 4, 6, 3), activation="sigmoid", output="sigmoid", loss="mse"),
           dict(sizes=(5, 12, 3), activation="leaky_relu", output="identity", loss="mse")]


def _data(n, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 5))
    # one-hot targets from a rule of X (with noise): valid for every configuration's loss
    return X, np.eye(3)[(np.argmax(X[:, :3] + 0.5 * rng.standard_normal((n, 3)), axis=1))]


def _canonical(values):
    array = np.asarray(values, dtype=np.float64)
    return np.where(np.isnan(array), np.nan, array).tobytes()


def _everything(net):
    """All a training leaves behind: parameters, optimizer state, generator, histories."""
    state = {key: _canonical(value) if isinstance(value, np.ndarray) else value
             for key, value in net.optimizer_state.items()}
    return (_canonical(net.params), str(net.params.dtype), state, net._rng.bit_generator.state,
            _canonical(net.loss_history), _canonical(net.validation_history))


def _draw_options(rng, n):
    """One network's options of train, drawn: every optimizer, batch size, schedule and watch."""
    optimizer = str(rng.choice(["sgd", "sgd", "adam", "irprop"]))
    options = dict(optimizer=optimizer, learn_rate=float(rng.choice([0.003, 0.01, 0.05])),
                   epochs=int(rng.integers(1, 9)), loss_every=int(rng.integers(0, 3)),
                   alpha=float(rng.choice([0.0, 1e-3])), shuffle=bool(rng.integers(2)),
                   schedule=str(rng.choice(["constant", "invscaling", "adaptive", "cosine"])),
                   power_t=float(rng.choice([0.25, 0.5])), tol=float(rng.choice([0.0, 1e-3, 1e9])),
                   restore_best=bool(rng.integers(2)))
    if rng.integers(2):
        options["patience"] = int(rng.integers(1, 4))
    if optimizer == "sgd":
        options.update(batch_size=int(rng.choice([1, 1, 4, 16])), momentum=float(rng.choice([0.0, 0.9])))
        options["nesterov"] = bool(options["momentum"] and rng.integers(2))
    elif optimizer == "adam":
        options.update(batch_size=int(rng.choice([1, 8, n])), beta_1=float(rng.choice([0.9, 0.8])),
                       beta_2=float(rng.choice([0.999, 0.99])), epsilon=float(rng.choice([1e-8, 1e-6])))
    return options


def _columns(rows):
    """Per-network options as one sequence per option (an option a row lacks: its default there)."""
    defaults = dict(momentum=0.0, nesterov=False, beta_1=0.9, beta_2=0.999, epsilon=1e-8, patience=None,
                    batch_size=None)
    names = {name for row in rows for name in row}
    return {name: [row.get(name, defaults.get(name)) for row in rows] for name in names}


@pytest.mark.parametrize("seed", range(8))
def test_every_network_as_its_own_train(seed):
    """Random sweeps: mixed configurations, dtypes and backends, every option drawn per network, with
    and without a validation set: each network ends as its own train leaves it, its record too."""
    rng = np.random.default_rng(seed)
    X, Y = _data(40, seed)
    validation = _data(15, seed + 100) if seed % 2 else None
    nets = [Network(**CONFIGS[int(rng.integers(len(CONFIGS)))], seed=int(rng.integers(100)),
                    backend=str(rng.choice(BACKENDS)), dtype=str(rng.choice(["float64", "float32"])))
            for _ in range(int(rng.integers(3, 9)))]
    rows = [_draw_options(rng, len(X)) for _ in nets]
    alone = [copy.deepcopy(net) for net in nets]
    with warnings.catch_warnings():         # a diverging draw warns: the same NaNs alone
        warnings.simplefilter("ignore", RuntimeWarning)
        summary = train_many(nets, X, Y, n_jobs=int(rng.choice([1, 2])), validation=validation,
                             **_columns(rows))
        records = [net.train(X, Y, validation=validation, **row) for net, row in zip(alone, rows)]
    assert list(summary) == records
    for net, other in zip(nets, alone):
        assert _everything(net) == _everything(other)


def test_the_lanes_kernels_and_the_plans_mixed_in_one_call(backend):
    """Per-sample SGD networks (the lanes kernels) beside Adam ones (their own plans) in one call."""
    X, Y = _data(30, 1)
    nets = [Network((5, 7, 3), seed=seed, backend=backend) for seed in range(6)]
    alone = [copy.deepcopy(net) for net in nets]
    optimizer = ["sgd", "adam"] * 3
    rates = [0.1, 0.01, 0.2, 0.02, 0.3, 0.03]
    summary = train_many(nets, X, Y, epochs=4, loss_every=1, learn_rate=rates, optimizer=optimizer,
                         batch_size=[1, 5] * 3, momentum=[0.0, 0.0, 0.5, 0.0, 0.0, 0.0])
    for index, (net, other) in enumerate(zip(nets, alone)):
        record = other.train(X, Y, epochs=4, loss_every=1, learn_rate=rates[index],
                             optimizer=optimizer[index], batch_size=[1, 5][index % 2],
                             momentum=0.5 if index == 2 else 0.0)
        assert summary[index] == record == TrainingRecord(4, "completed", None, None, rates[index])
        assert _everything(net) == _everything(other)


# --- the watch, against an independent rendering -------------------------------------------------


def _reference_run(net, X, Y, Xv, Yv, epochs, learn_rate, schedule, patience, tol, restore_best,
                   power_t=0.5, **options):
    """Network.train's watch written out: one train call per epoch (two calls train as one without
    shuffling), the rate of each epoch and the stopping rule as documented."""
    best, best_epoch, best_params, bad, rate, history = math.inf, None, None, 0, learn_rate, []
    stopped, run = "completed", epochs
    for epoch in range(epochs):
        if schedule == "invscaling":
            rate = learn_rate / (epoch * len(X) + 1) ** power_t
        elif schedule == "cosine":
            rate = learn_rate * 0.5 * (1.0 + math.cos(math.pi * epoch / epochs))
        net.train(X, Y, learn_rate=rate, epochs=1, loss_every=0, **options)
        loss = net.loss(Xv, Yv)
        history.append((epoch, loss))
        bad = 0 if loss <= best - tol else bad + 1
        if loss < best:
            best, best_epoch, best_params = loss, epoch, net.params
        limit = patience if patience is not None else (10 if schedule == "adaptive" else None)
        if limit is not None and bad >= limit:
            if schedule == "adaptive" and rate > 1e-6:
                rate, bad = rate / 5.0, 0
                continue
            stopped, run = ("learning_rate" if schedule == "adaptive" else "patience"), epoch + 1
            break
    if restore_best:
        net.params = best_params
    return TrainingRecord(run, stopped, best_epoch, best, rate), history


@pytest.mark.parametrize("schedule, patience, tol, restore_best, options", [
    ("constant", 2, 1e-3, True, dict(optimizer="adam", batch_size=8)),
    ("constant", 3, 0.0, False, dict(momentum=0.9, batch_size=4)),
    ("invscaling", 2, 1e-4, True, dict(batch_size=1)),
    ("cosine", None, 1e-4, True, dict(optimizer="adam", batch_size=1)),
    ("adaptive", 1, 1e-2, False, dict(batch_size=4)),
    ("adaptive", None, 1e-4, True, dict(optimizer="adam", batch_size=16, alpha=1e-3)),
])
def test_the_watch_as_documented(backend, schedule, patience, tol, restore_best, options):
    X, Y = _data(48, 3)
    Xv, Yv = _data(20, 4)
    net = Network((5, 10, 3), "tanh", "softmax", "cross_entropy", seed=2, backend=backend)
    reference = copy.deepcopy(net)
    kwargs = dict(epochs=40, learn_rate=0.5, schedule=schedule, patience=patience, tol=tol,
                  restore_best=restore_best, **options)
    record = net.train(X, Y, validation=(Xv, Yv), loss_every=0, **kwargs)
    expected, history = _reference_run(reference, X, Y, Xv, Yv, **kwargs)
    assert record == expected
    assert net.validation_history == history
    assert net.params.tobytes() == reference.params.tobytes()


def test_patience_without_a_validation_set_watches_the_training_loss():
    X, Y = _data(30, 5)
    net = Network((5, 6, 3), seed=1)
    record = net.train(X, Y, epochs=200, learn_rate=0.05, patience=3, tol=1e9, loss_every=1)
    # tol beyond any loss: no epoch after the first improves (on a best of inf), the run stops after 4
    losses = [loss for _, loss in net.loss_history]
    assert record == TrainingRecord(4, "patience", int(np.argmin(losses)), min(losses), 0.05)
    assert [epoch for epoch, _ in net.loss_history] == [0, 1, 2, 3] and net.validation_history == []


def test_validation_history_is_the_last_calls():
    X, Y = _data(30, 5)
    net = Network((5, 6, 3), seed=1)
    net.train(X, Y, epochs=3, validation=(X[:10], Y[:10]))
    assert [epoch for epoch, _ in net.validation_history] == [0, 1, 2]
    assert net.validation_history[-1][1] == net.loss(X[:10], Y[:10])
    net.train(X, Y, epochs=2)
    assert net.validation_history == []


@pytest.mark.parametrize("sizes, options", [
    ((2, 2, 1), {}),                            # the tutorial's lanes kernel
    ((2, 3, 1), {}),                            # the general lanes kernel
    ((2, 3, 1), {"momentum": 0.9}),             # the same, with momentum
    ((2, 3, 1), {"optimizer": "adam"}),         # its own plan
])
def test_a_sweep_without_validation_clears_the_last_calls_history(backend, sizes, options):
    """A network trained with a validation set, then in a sweep without one: the sweep leaves its
    validation history empty, as its own train does, whichever kernel trains it."""
    rng = np.random.default_rng(2)
    X, y = rng.random((20, 2)), rng.random(20)
    nets = [Network(sizes, seed=seed, backend=backend) for seed in range(3)]
    for net in nets:
        net.train(X, y, epochs=2, validation=(X[:5], y[:5]), **options)
        assert len(net.validation_history) == 2
    alone = [copy.deepcopy(net) for net in nets]
    train_many(nets, X, y, epochs=3, n_jobs=1, **options)
    for net, other in zip(nets, alone):
        other.train(X, y, epochs=3, **options)
        assert net.validation_history == other.validation_history == []
        assert _everything(net) == _everything(other)


@pytest.mark.parametrize("option, value, error, pattern", [
    ("validation", (np.ones((3, 4)), np.ones((3, 3))), ValueError, "validation X must be 2-D with 5 columns"),
    ("validation", (np.ones((3, 5)), np.ones((2, 3))), ValueError, "validation Y has 2 rows"),
    ("validation", np.ones((3, 5)), TypeError, "validation must be a pair"),
    ("validation", (np.ones((3, 5)),), ValueError, "validation must be a pair"),
    ("patience", 0, ValueError, "patience"),
    ("patience", 1.5, TypeError, "patience"),
    ("tol", -1.0, ValueError, "tol must be at least 0"),
    ("tol", np.nan, ValueError, "tol"),
    ("schedule", "step", ValueError, "unknown schedule 'step'"),
    ("power_t", -0.5, ValueError, "power_t must be at least 0"),
    ("restore_best", 1, TypeError, "restore_best must be True or False"),
])
def test_refused_watch_options_change_nothing(option, value, error, pattern):
    X, Y = _data(20, 6)
    net = Network((5, 6, 3), seed=1)
    net.train(X, Y, epochs=2, optimizer="adam", validation=(X, Y))
    before = _everything(net)
    with pytest.raises(error, match=pattern):
        net.train(X, Y, epochs=2, optimizer="adam", **{option: value})
    other = Network((5, 6, 3), seed=2)
    with pytest.raises(error, match=pattern):
        train_many([other, net], X, Y, epochs=2, optimizer="adam", **{option: value})
    assert _everything(net) == before


def test_a_refusal_names_the_network_whose_options_differ():
    X, Y = _data(20, 6)
    nets = [Network((5, 6, 3), seed=seed) for seed in range(3)]
    before = [_everything(net) for net in nets]
    with pytest.raises(ValueError, match="network 2: unknown schedule 'linear'"):
        train_many(nets, X, Y, schedule=["cosine", "adaptive", "linear"])
    with pytest.raises(ValueError, match=r"patience must be one value, or one per network \(3\)"):
        train_many(nets, X, Y, patience=[1, 2])
    nets[1].train(X, Y, epochs=1, optimizer="adam")
    before[1] = _everything(nets[1])
    with pytest.raises(ValueError, match="network 1: this network holds Adam's optimizer state"):
        train_many(nets, X, Y, momentum=0.9, epochs=1)
    assert [_everything(net) for net in nets] == before


def test_options_equal_in_value_but_not_in_kind_are_checked_network_by_network():
    # train_many checks one plan per kind of network and options; 1 == True and hash(1) == hash(True),
    # yet shuffle=1 is refused where shuffle=True is taken, so the second network's is checked apart.
    X, Y = _data(20, 6)
    nets = [Network((5, 6, 3), seed=seed) for seed in range(3)]
    before = [_everything(net) for net in nets]
    with pytest.raises(TypeError, match="network 2: shuffle must be True or False, not int"):
        train_many(nets, X, Y, epochs=1, shuffle=[True, True, 1])
    with pytest.raises(TypeError, match="network 1: nesterov must be True or False, not float"):
        train_many(nets, X, Y, epochs=1, momentum=0.5, nesterov=[False, 0.0, False])
    # a value that does not hash is checked for its network alone, as any other
    with pytest.raises(ValueError, match=r"network 1: unknown schedule \{\}"):
        train_many(nets, X, Y, epochs=1, schedule=["constant", {}, "constant"])
    assert [_everything(net) for net in nets] == before
    # the same options, given once or network by network, train alike (one plan or three)
    twins = [Network((5, 6, 3), seed=seed) for seed in range(3)]
    train_many(nets, X, Y, epochs=2, learn_rate=0.05, shuffle=True)
    train_many(twins, X, Y, epochs=2, learn_rate=[0.05, np.float64(0.05), 0.05], shuffle=[True] * 3)
    assert [_everything(net) for net in nets] == [_everything(net) for net in twins]


def test_tutorial_networks_take_the_tutorial_options_only():
    nets = [OurNeuralNetwork(), OurNeuralNetwork()]
    before = [net.params.tobytes() for net in nets]
    X, y = np.ones((4, 2)), np.ones(4)
    for options in (dict(optimizer="adam"), dict(shuffle=True), dict(validation=(X, y)), dict(patience=2)):
        with pytest.raises(ValueError, match="needs Network objects"):
            train_many(nets, X, y, **options)
    assert [net.params.tobytes() for net in nets] == before
    summary = train_many(nets, X, y, epochs=3, learn_rate=0.2)
    assert list(summary) == [TrainingRecord(3, "completed", None, None, 0.2)] * 2


def test_the_summary_as_a_data_frame(monkeypatch):
    pd = pytest.importorskip("pandas")
    X, Y = _data(20, 6)
    nets = [Network((5, 6, 3), seed=seed) for seed in range(3)]
    summary = train_many(nets, X, Y, epochs=6, validation=(X, Y), patience=[1, 2, 100], tol=1e9)
    frame = summary.to_frame()
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == list(TrainingRecord._fields)
    assert frame["epochs"].tolist() == [2, 3, 6]
    assert frame["stopped"].tolist() == ["patience", "patience", "completed"]
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="needs pandas"):
        summary.to_frame()


def test_a_stopped_network_runs_no_more_epochs():
    """Half the networks stop after 3 epochs (a tolerance no loss can meet after the first), half run
    30: their histories end where they stopped."""
    X, Y = _data(30, 7)
    nets = [Network((5, 6, 3), seed=seed) for seed in range(8)]
    summary = train_many(nets, X, Y, epochs=30, loss_every=1, optimizer="adam", batch_size=4,
                         validation=(X, Y), patience=2, tol=[1e9, 0.0] * 4, learn_rate=1e-3)
    assert [record.epochs for record in summary][::2] == [3] * 4
    assert all(len(net.loss_history) == record.epochs == len(net.validation_history)
               for net, record in zip(nets, summary))


# --- processes, a cluster, Ctrl-C -----------------------------------------------------------------


def _sweep(count):
    X, Y = _data(25, 8)
    nets = [Network(**CONFIGS[seed % 3], seed=seed, backend="cython") for seed in range(count)]
    options = dict(epochs=[2 + seed % 5 for seed in range(count)], optimizer=["adam", "sgd"] * (count // 2),
                   batch_size=[4, 8] * (count // 2), learn_rate=np.geomspace(1e-3, 0.3, count),
                   shuffle=True, validation=(X[:10], Y[:10]), patience=2, restore_best=True, loss_every=1)
    return nets, X, Y, options


def test_a_sweep_on_joblib_processes():
    joblib = pytest.importorskip("joblib")
    nets, X, Y, options = _sweep(12)
    serial = [copy.deepcopy(net) for net in nets]
    expected = train_many(serial, X, Y, n_jobs=1, **options)
    with joblib.parallel_config(backend="loky", n_jobs=2):
        assert train_many(nets, X, Y, **options) == expected
    assert [_everything(net) for net in nets] == [_everything(net) for net in serial]


def test_a_sweep_of_hundreds_on_a_dask_cluster():
    distributed = pytest.importorskip("distributed")
    joblib = pytest.importorskip("joblib")
    nets, X, Y, options = _sweep(300)
    serial = [copy.deepcopy(net) for net in nets]
    expected = train_many(serial, X, Y, n_jobs=1, **options)
    with (distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                   dashboard_address=None) as cluster,
          distributed.Client(cluster),
          joblib.parallel_config(backend="dask")):
        assert train_many(nets, X, Y, **options) == expected
    assert [_everything(net) for net in nets] == [_everything(net) for net in serial]


INTERRUPT_SWEEP = textwrap.dedent("""
    import os, signal, threading, time
    import numpy as np
    from tinynet import Network, train_many

    signal.signal(signal.SIGINT, signal.default_int_handler)
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((20_000, 8)), rng.uniform(0, 1, (20_000, 2))
    nets = [Network((8, 16, 2), seed=seed) for seed in range(8)]
    starts = [net.params.tolist() for net in nets]
    sent = []
    def interrupt():
        sent.append(time.perf_counter())
        os.kill(os.getpid(), signal.SIGINT)
    threading.Timer(0.5, interrupt).start()
    try:
        train_many(nets, X, Y, epochs=10**6, optimizer="adam", batch_size=8, validation=(X[:100], Y[:100]),
                   n_jobs=2)
        print("not interrupted")
    except KeyboardInterrupt:
        unchanged = [net.params.tolist() for net in nets] == starts
        histories = all(net.loss_history == [] and net.optimizer_state["t"] == 0 for net in nets)
        print("interrupted", time.perf_counter() - sent[0], unchanged and histories)
""")


def test_ctrl_c_stops_a_sweep_quickly_and_changes_nothing():
    done = subprocess.run([sys.executable, "-c", INTERRUPT_SWEEP], capture_output=True, text=True,
                          timeout=120, cwd=REPO.parent)
    assert done.returncode == 0, done.stderr
    words = done.stdout.split()
    assert words[0] == "interrupted", words
    assert float(words[1]) < 1.0 and words[2] == "True"


def test_copies_and_pickles_keep_the_validation_history():
    X, Y = _data(20, 9)
    net = Network((5, 6, 3), seed=1)
    net.train(X, Y, epochs=3, optimizer="adam", shuffle=True, validation=(X, Y))
    twin = copy.deepcopy(net)
    assert _everything(twin) == _everything(net) and twin._lock is not net._lock
    restored = pickle.loads(pickle.dumps(net))
    assert _everything(restored) == _everything(net)
    twin.train(X, Y, epochs=2, optimizer="adam", shuffle=True)      # the copy is independent
    assert _everything(restored) == _everything(net) != _everything(twin)
    # trained alike from here, the original and the restored pickle stay alike (generators included)
    for one in (net, restored):
        one.train(X, Y, epochs=2, optimizer="adam", shuffle=True, validation=(X[:5], Y[:5]))
    assert _everything(restored) == _everything(net)
