"""Reliability: threads, train_many, Ctrl-C, divergence, save/load, read-only caches, leaks, fuzzing."""

import json
import os
import pathlib
import subprocess
import sys
import textwrap
import threading
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinynet
import tinynet._training
from tinynet import OurNeuralNetwork, train_many
from tinynet._backend import BACKENDS, load_backend
from tinynet._data import synthetic_data

from reference import TUTORIAL_DATA, TUTORIAL_Y

REPO = pathlib.Path(__file__).resolve().parents[1]
COMPILED = ["cython", "numba"]


def _net(backend, seed):
    np.random.seed(seed)
    return OurNeuralNetwork(backend=backend)


def _run_script(script, *args, timeout=300):
    """Run a Python script in a new process (next to the repository); its stdout, once it succeeded."""
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO.parent)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _state(net):
    return net.params.tolist(), net.loss_history


# --- threads ------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", COMPILED)
def test_two_threads_two_networks_equal_serial(backend):
    data, y = synthetic_data(2000, seed=1)
    serial = [_net(backend, seed) for seed in (1, 2)]
    for net in serial:
        net.train(data, y, epochs=20, verbose=False)
    threaded = [_net(backend, seed) for seed in (1, 2)]
    threads = [threading.Thread(target=net.train, args=(data, y), kwargs=dict(epochs=20, verbose=False))
               for net in threaded]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [_state(net) for net in threaded] == [_state(net) for net in serial]


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_threads_one_network_take_turns(backend):
    """Both trainings happen whole, one after the other, in some order."""
    data_a, y_a = synthetic_data(500, seed=3)
    data_b, y_b = synthetic_data(500, seed=4)
    net = _net(backend, 5)
    start = net.params

    def serial(first, second):
        other = OurNeuralNetwork(backend=backend)
        other.params = start
        other.train(*first, epochs=30, verbose=False)
        other.train(*second, epochs=30, verbose=False)
        return other.params.tolist()

    threads = [threading.Thread(target=net.train, args=args, kwargs=dict(epochs=30, verbose=False))
               for args in ((data_a, y_a), (data_b, y_b))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert net.params.tolist() in (serial((data_a, y_a), (data_b, y_b)),
                                   serial((data_b, y_b), (data_a, y_a)))


# --- train_many ---------------------------------------------------------------------------------


def _alone(nets, data, y, **options):
    """What training each network alone gives, from copies of the networks."""
    results = []
    for net in nets:
        copy = OurNeuralNetwork(backend=net.backend)
        copy.params = net.params
        copy.train(data, y, verbose=False, **options)
        results.append(_state(copy))
    return results


@pytest.mark.parametrize("n_jobs", [None, 1, 2])
def test_train_many_equals_training_each_alone(n_jobs):
    nets = [_net(BACKENDS[seed % 3], seed) for seed in range(21)]   # mixed backends
    expected = _alone(nets, TUTORIAL_DATA, TUTORIAL_Y, epochs=300, loss_every=7)
    train_many(nets, TUTORIAL_DATA, TUTORIAL_Y, n_jobs=n_jobs, epochs=300, loss_every=7)
    assert [_state(net) for net in nets] == expected


@pytest.mark.parametrize("backend", BACKENDS)
def test_train_many_equals_alone_where_exp_takes_its_special_path(backend):
    """Unscaled data: the lanes' sums go far beyond exp's common path (|x| > 700), in some lanes only."""
    rng = np.random.default_rng(8)
    data = rng.uniform(-2000, 2000, size=(30, 2))
    y = (data[:, 0] > 0).astype(float)
    # 40 networks: whole blocks of LANES and a padded one (at 32 lanes, one of each)
    nets = [_net(backend, seed) for seed in range(40)]
    expected = _alone(nets, data, y, epochs=20, loss_every=3)
    train_many(nets, data, y, epochs=20, loss_every=3, n_jobs=1)
    assert [_state(net) for net in nets] == expected


def test_train_many_on_larger_data_in_chunks(monkeypatch):
    monkeypatch.setattr(tinynet._training, "CHUNK_STEPS", 5000)
    data, y = synthetic_data(1000, seed=2)
    nets = [_net("cython", seed) for seed in range(10)]
    expected = _alone(nets, data, y, epochs=12, learn_rate=0.05)
    train_many(nets, data, y, epochs=12, learn_rate=0.05)
    assert [_state(net) for net in nets] == expected


def test_train_many_on_joblib_processes():
    """Under another joblib backend (processes here) the results come back into the networks."""
    joblib = pytest.importorskip("joblib")
    nets = [_net("cython", seed) for seed in range(4)]
    expected = _alone(nets, TUTORIAL_DATA, TUTORIAL_Y, epochs=100)
    with joblib.parallel_config(backend="loky", n_jobs=2):
        train_many(nets, TUTORIAL_DATA, TUTORIAL_Y, epochs=100)
    assert [_state(net) for net in nets] == expected


def test_train_many_on_a_dask_cluster():
    distributed = pytest.importorskip("distributed")
    joblib = pytest.importorskip("joblib")
    nets = [_net("numba", seed) for seed in range(4)]
    expected = _alone(nets, TUTORIAL_DATA, TUTORIAL_Y, epochs=100)
    with (distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                   dashboard_address=None) as cluster,
          distributed.Client(cluster),
          joblib.parallel_config(backend="dask")):
        train_many(nets, TUTORIAL_DATA, TUTORIAL_Y, epochs=100)
    assert [_state(net) for net in nets] == expected


@pytest.mark.parametrize("call, error, pattern", [
    (lambda nets: train_many(["not a net"], TUTORIAL_DATA, TUTORIAL_Y), TypeError,
     "must hold OurNeuralNetwork or Network objects, not str"),
    (lambda nets: train_many(5, TUTORIAL_DATA, TUTORIAL_Y), TypeError, "object is not iterable"),
    (lambda nets: train_many(nets, TUTORIAL_DATA, [1, 0]), ValueError, "all_y_trues has 2 labels"),
    (lambda nets: train_many(nets, [[1, 2, 3]], [1]), ValueError, "data must be 2-D"),
    (lambda nets: train_many(nets, TUTORIAL_DATA, TUTORIAL_Y, epochs=-1), ValueError,
     "epochs must be >= 0"),
    (lambda nets: train_many(nets, TUTORIAL_DATA, TUTORIAL_Y, n_jobs=0), ValueError,
     "n_jobs must not be 0"),
    (lambda nets: train_many(nets, TUTORIAL_DATA, TUTORIAL_Y, n_jobs=1.5), TypeError,
     "n_jobs must be an integer"),
])
def test_train_many_refuses_bad_input_and_changes_nothing(call, error, pattern):
    nets = [_net("cython", seed) for seed in range(3)]
    before = [_state(net) for net in nets]
    with pytest.raises(error, match=pattern):
        call(nets)
    assert [_state(net) for net in nets] == before


def test_train_many_refuses_a_network_twice():
    net = _net("cython", 0)
    with pytest.raises(ValueError, match="the same network appears more than once"):
        train_many([net, net], TUTORIAL_DATA, TUTORIAL_Y)


# --- Ctrl-C -------------------------------------------------------------------------------------

INTERRUPT = textwrap.dedent("""
    import _thread, signal, threading, time, sys
    import numpy as np
    # Ctrl-C as a terminal delivers it, even where this process was started with SIGINT ignored (a
    # background job of a non-interactive shell), where interrupt_main() would do nothing.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from tinynet import OurNeuralNetwork
    from tinynet._data import synthetic_data

    data, y = synthetic_data(100_000, seed=0)
    start = np.linspace(-1, 1, 9)
    net = OurNeuralNetwork(backend=sys.argv[1])
    net.params = start
    net.train(data[:10], y[:10], epochs=1, verbose=False)      # compile (numba) first
    net.params = start
    began = time.perf_counter()
    net.train(data, y, epochs=1, verbose=False, loss_every=0)   # how long an epoch takes here
    epoch_time = time.perf_counter() - began
    net.params = start
    sent = []
    def interrupt():
        sent.append(time.perf_counter())
        _thread.interrupt_main()                                  # what Ctrl-C does
    # after the first epoch has had time to finish, on this machine
    threading.Timer(max(0.3, 1.5 * epoch_time), interrupt).start()
    try:
        net.train(data, y, epochs=10**6, verbose=False)
        print("not interrupted")
    except KeyboardInterrupt:
        latency = time.perf_counter() - sent[0]
        # Which whole number of epochs does the interrupted state equal? Replay with the exact kernels.
        replay = OurNeuralNetwork(backend="cython")
        replay.params = start
        for epoch in range(1, 1000):
            replay.train(data, y, epochs=1, verbose=False, loss_every=0)
            if replay.params.tolist() == net.params.tolist():
                print("interrupted", latency, epoch, *[e for e, _ in net.loss_history])
                break
        else:
            print("interrupted, but the parameters match no whole epoch", latency)
""")


@pytest.mark.parametrize("backend", BACKENDS)
def test_ctrl_c_stops_training_at_a_whole_step(backend):
    words = _run_script(INTERRUPT, backend).split()
    assert words[0] == "interrupted", words
    latency, epochs, recorded = float(words[1]), int(words[2]), [int(word) for word in words[3:]]
    assert latency < 1.0
    assert epochs >= 1
    # The losses recorded before the interrupt are kept: those of epochs 0, 10, 20, ... (the last
    # chunk's may be missing when the interrupt comes between the kernel's return and their record).
    assert recorded == list(range(0, epochs, 10))[:len(recorded)]


INTERRUPT_ADAM = textwrap.dedent("""
    import _thread, signal, threading, time, sys
    import numpy as np
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from tinynet import Network
    from tinynet._data import synthetic_data

    backend = sys.argv[1]
    data, y = synthetic_data(40_000 if backend != "python" else 2_000, seed=0)
    options = dict(learn_rate=0.01, optimizer="adam", batch_size=16, alpha=1e-3, loss_every=0)
    net = Network((2, 8, 1), seed=0, backend=backend)
    net.train(data[:10], y[:10], epochs=1, **options)            # compile (numba) first
    net.reset_optimizer()
    start = net.params
    sent = []
    def interrupt():
        sent.append(time.perf_counter())
        _thread.interrupt_main()
    threading.Timer(0.3 if backend != "python" else 1.5, interrupt).start()
    try:
        net.train(data, y, epochs=10**6, **options)
        print("not interrupted")
    except KeyboardInterrupt:
        state = net.optimizer_state
        # The parameters and the optimizer's state both those after the same whole number of epochs.
        replay = Network((2, 8, 1), seed=0, backend="cython")
        replay.params = start
        for epoch in range(1, 1000):
            replay.train(data, y, epochs=1, **options)
            if replay.params.tolist() == net.params.tolist():
                same = all(np.array_equal(replay.optimizer_state[key], state[key]) for key in ("m", "v", "t"))
                print("interrupted", epoch, same)
                break
        else:
            print("interrupted, but the parameters match no whole epoch")
""")


INTERRUPT_MANY = textwrap.dedent("""
    import os, signal, threading, time, sys
    import numpy as np
    from tinynet import OurNeuralNetwork, train_many
    from tinynet._data import synthetic_data

    signal.signal(signal.SIGINT, signal.default_int_handler)    # as a terminal's Ctrl-C
    data, y = synthetic_data(100_000, seed=0)
    nets = [OurNeuralNetwork(backend="cython") for _ in range(64)]
    starts = [net.params.tolist() for net in nets]
    train_many(nets[:2], data[:10], y[:10], epochs=1)
    for net, start in zip(nets, starts):
        net.params = start
    sent = []
    def interrupt():
        sent.append(time.perf_counter())
        os.kill(os.getpid(), signal.SIGINT)       # a real signal: it wakes the waiting main thread
    threading.Timer(0.3, interrupt).start()
    try:
        train_many(nets, data, y, epochs=10**6, n_jobs=2)
        print("not interrupted")
    except KeyboardInterrupt:
        unchanged = [net.params.tolist() for net in nets] == starts
        print("interrupted", time.perf_counter() - sent[0], unchanged)
""")


@pytest.mark.parametrize("backend", BACKENDS)
def test_ctrl_c_keeps_mini_batch_training_and_its_optimizer_state_whole(backend):
    words = _run_script(INTERRUPT_ADAM, backend).split()
    assert words[0] == "interrupted" and len(words) == 3, words
    assert int(words[1]) >= 1 and words[2] == "True", words


def test_ctrl_c_stops_train_many_on_threads_quickly():
    """The workers learn of the interrupt and stop at the end of a chunk, not of their whole run."""
    words = _run_script(INTERRUPT_MANY, timeout=120).split()
    assert words[0] == "interrupted", words
    assert float(words[1]) < 1.0 and words[2] == "True"


COMPILE_THREADS = textwrap.dedent("""
    import threading
    import numpy as np
    from tinynet import Network, OurNeuralNetwork, train_many
    from tinynet._backend import load_backend

    threads = []
    for family, name in (("tutorial", "train_many"), ("network", "net_train_many")):
        kernel = getattr(load_backend("numba", family), name)
        compile_ = kernel.compile
        def recording(sig, compile_=compile_, name=name):
            threads.append((name, threading.current_thread() is threading.main_thread()))
            return compile_(sig)
        kernel.compile = recording
    data, y = np.random.default_rng(0).normal(size=(20, 2)), np.linspace(0, 1, 20)
    tutorial = [OurNeuralNetwork(backend="numba") for _ in range(40)]
    networks = [Network((2, 3, 1), seed=i, backend="numba") for i in range(40)]
    train_many(tutorial, data, y, epochs=2, n_jobs=2)
    train_many(networks, data, y, epochs=2, n_jobs=2)
    print(sorted(set(threads)))
""")


@pytest.mark.skipif("numba" not in tinynet.available_backends(), reason="Numba is not installed")
def test_train_many_compiles_numba_kernels_in_the_callers_thread():
    """Numba compiles at a kernel's first call, for up to 20 s with a cold cache: in the caller's
    thread, where Ctrl-C interrupts it, not in a worker thread that Ctrl-C would wait for."""
    assert _run_script(COMPILE_THREADS).strip() == "[('net_train_many', True), ('train_many', True)]"


# --- divergence ---------------------------------------------------------------------------------


def test_divergence_warns_once_and_backends_agree():
    results = []
    for backend in BACKENDS:
        net = OurNeuralNetwork(backend=backend)
        net.params = np.linspace(-1, 1, 9)
        expected = r"training diverged: .* epoch 0 \(learn_rate=1e\+308\)"
        with pytest.warns(RuntimeWarning, match=expected) as record:
            net.train(TUTORIAL_DATA, TUTORIAL_Y, learn_rate=1e308, epochs=50, verbose=False)
        assert len(record) == 1
        assert np.isnan(net.params).all()
        results.append(net.params)
    assert all(np.array_equal(r, results[0], equal_nan=True) for r in results)


def test_divergence_names_the_epoch_whatever_the_chunks(monkeypatch):
    """A kernel that turns the parameters into NaN in epoch 7: the warning names epoch 7."""
    real = load_backend("python", "tutorial")

    def train(params, data, y_true, learn_rate, epoch_start, epoch_stop, loss_every, losses):
        for epoch in range(epoch_start, epoch_stop):
            real.train(params, data, y_true, learn_rate, epoch, epoch + 1, 0, losses[:, :0])
            if epoch == 7:
                params[:, 2] = np.nan
        losses[:] = 0.0

    data, labels = TUTORIAL_DATA.astype(float), TUTORIAL_Y.astype(float)

    def train_chunk(state, *epochs_and_losses):
        train(state[0], data, labels, 0.1, *epochs_and_losses)

    for chunk_steps in (1, 4 * 5, 1 << 18):
        monkeypatch.setattr(tinynet._training, "CHUNK_STEPS", chunk_steps)
        diverged, _ = tinynet._training.run_training(train_chunk, (np.zeros((1, 9)),), 20, 0, len(data),
                                                  [[]])
        assert diverged == 7


def test_the_report_can_stop_training_early(monkeypatch):
    """A report that returns True stops the run after that chunk: what early stopping needs."""
    monkeypatch.setattr(tinynet._training, "CHUNK_STEPS", 4 * 10)     # chunks of 10 epochs
    kernels = load_backend("cython", "tutorial")
    data, labels = TUTORIAL_DATA.astype(float), TUTORIAL_Y.astype(float)
    params = np.linspace(-1, 1, 9).reshape(1, 9)
    seen, history = [], []

    def train_chunk(state, *epochs_and_losses):
        kernels.train(state[0], data, labels, 0.1, *epochs_and_losses)

    def report(epochs_done, recorded):
        seen.append((epochs_done, [epoch for epoch, _ in recorded]))
        return epochs_done >= 30

    outcome = tinynet._training.run_training(train_chunk, (params,), 100, 5, len(data), [history], report)
    assert outcome == (None, 30)
    assert seen == [(10, [0, 5]), (20, [10, 15]), (30, [20, 25])]
    alone = OurNeuralNetwork()
    alone.params = np.linspace(-1, 1, 9)
    alone.train(data, labels, epochs=30, verbose=False, loss_every=5)
    assert params[0].tolist() == alone.params.tolist() and history == alone.loss_history


def test_no_warning_when_training_stays_finite():
    net = OurNeuralNetwork()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net.train(TUTORIAL_DATA, TUTORIAL_Y, learn_rate=1e6, epochs=20, verbose=False)


# --- save and load ------------------------------------------------------------------------------

EXTREME = [5e-324, -1.7976931348623157e308, -0.0, 0.1, 1 / 3, 2.0, -3.5e-310, 1e-300, 7.0]


@pytest.mark.parametrize("backend", BACKENDS)
def test_save_load_round_trip_bit_for_bit(backend, tmp_path):
    net = OurNeuralNetwork(backend=backend)
    net.params = EXTREME
    path = tmp_path / "net.json"
    net.save(path)
    loaded = OurNeuralNetwork.load(path)
    assert loaded.backend == backend
    assert loaded.params.view(np.int64).tolist() == net.params.view(np.int64).tolist()
    document = json.loads(path.read_text())
    assert document["format"] == "tinynet.OurNeuralNetwork" and document["version"] == 1
    assert document["params"]["w4"] == 0.1 and document["backend"] == backend
    assert path.read_text().count("\n") > 10       # indented: readable


def test_load_with_another_backend(tmp_path):
    net = OurNeuralNetwork(backend="python")
    net.save(tmp_path / "net.json")
    loaded = OurNeuralNetwork.load(tmp_path / "net.json", backend="numba")
    assert loaded.backend == "numba" and loaded.params.tolist() == net.params.tolist()
    with pytest.raises(ValueError, match="unknown backend 'gpu'"):
        OurNeuralNetwork.load(tmp_path / "net.json", backend="gpu")


def test_load_draws_no_random_numbers(tmp_path):
    OurNeuralNetwork().save(tmp_path / "net.json")
    np.random.seed(9)
    OurNeuralNetwork.load(tmp_path / "net.json")
    after = np.random.normal()
    np.random.seed(9)
    assert np.random.normal() == after


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "net.json"
    old = OurNeuralNetwork()
    old.save(path)
    before = path.read_bytes()

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        OurNeuralNetwork().save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["net.json"]          # no temporary file left behind


def test_save_refuses_non_finite_parameters(tmp_path):
    net = OurNeuralNetwork()
    with pytest.warns(RuntimeWarning):
        net.train(TUTORIAL_DATA, TUTORIAL_Y, learn_rate=1e308, epochs=2, verbose=False)
    with pytest.raises(ValueError, match="parameter w1 is nan"):
        net.save(tmp_path / "net.json")
    assert not (tmp_path / "net.json").exists()


GOOD = json.dumps({"format": "tinynet.OurNeuralNetwork", "version": 1, "backend": "cython",
                   "params": dict(zip(tinynet.PARAM_NAMES, map(float, range(9))))}, indent=2)


@pytest.mark.parametrize("text, pattern", [
    ("", "it is empty"),
    (GOOD[: len(GOOD) // 2], "it is not valid JSON"),
    ("hello", "it is not valid JSON"),
    ("[1, 2]", "it is not a tinynet.OurNeuralNetwork file"),
    (GOOD.replace("tinynet.OurNeuralNetwork", "other"), "it is not a tinynet.OurNeuralNetwork file"),
    (GOOD.replace('"version": 1', '"version": 2'), "format version 2 is not supported"),
    (GOOD.replace('"w3"', '"w33"'), "parameters missing: w3"),
    (GOOD.replace('"params"', '"parameters"'), 'the field "params" is missing'),
    (GOOD.replace('"b2": 7.0', '"b2": "7"'), "parameter b2 is '7', not a finite number"),
    (GOOD.replace('"b2": 7.0', '"b2": NaN'), "parameter b2 is nan, not a finite number"),
    (GOOD.replace('"b2": 7.0', '"b2": true'), "parameter b2 is True, not a finite number"),
])
def test_load_refuses_bad_files(tmp_path, text, pattern):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=pattern) as info:
        OurNeuralNetwork.load(path)
    assert str(path) in str(info.value)


def test_load_of_a_good_file_and_a_missing_one(tmp_path):
    path = tmp_path / "good.json"
    path.write_text(GOOD)
    assert OurNeuralNetwork.load(path).params.tolist() == list(map(float, range(9)))
    with pytest.raises(FileNotFoundError):
        OurNeuralNetwork.load(tmp_path / "missing.json")


# --- a read-only install ------------------------------------------------------------------------

READ_ONLY = textwrap.dedent("""
    import numba.core.caching as caching
    def refuse(self):
        raise PermissionError("read-only file system")
    caching._CacheLocator.ensure_cache_path = refuse     # as on a read-only site-packages and home
    import numpy as np, tinynet
    net = tinynet.OurNeuralNetwork(backend="numba")
    net.params = np.linspace(-1, 1, 9)
    net.train([[1.0, 2.0], [3.0, -1.0]], [1.0, 0.0], epochs=10, verbose=False)
    print(net.params.tolist())
""")


def test_numba_compiles_in_memory_where_no_cache_is_writable():
    out = _run_script(READ_ONLY)
    net = OurNeuralNetwork(backend="cython")
    net.params = np.linspace(-1, 1, 9)
    net.train([[1.0, 2.0], [3.0, -1.0]], [1.0, 0.0], epochs=10, verbose=False)
    assert out.strip() == str(net.params.tolist())


# --- leaks --------------------------------------------------------------------------------------


def _rss_bytes():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc (Linux)")
@pytest.mark.parametrize("backend", COMPILED)
def test_no_leaks_over_many_calls(backend):
    net = OurNeuralNetwork(backend=backend)
    data = TUTORIAL_DATA.astype(float)
    y = TUTORIAL_Y.astype(float)

    def calls(count):
        for _ in range(count):
            net.train(data, y, epochs=2, verbose=False)
            net.feedforward(data[0])
            net.predict(data)

    calls(2_000)                       # warm up: caches, allocator pools
    before = _rss_bytes()
    calls(20_000)
    growth = _rss_bytes() - before
    assert growth < 5_000_000, f"grew by {growth} bytes"


# --- fuzzing ------------------------------------------------------------------------------------

junk = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.complex_numbers(), st.text(max_size=5),
    st.lists(st.one_of(st.floats(), st.integers(), st.text(max_size=2), st.none()), max_size=6),
    st.lists(st.lists(st.one_of(st.floats(), st.integers(), st.text(max_size=2)), max_size=3), max_size=5),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=junk, labels=junk, learn_rate=st.one_of(junk, st.floats(-1, 1)),
       epochs=st.one_of(junk, st.integers(-3, 3)))
def test_malformed_input_gives_only_value_or_type_errors(data, labels, learn_rate, epochs):
    for backend in BACKENDS:
        net = OurNeuralNetwork(backend=backend)
        net.params = np.linspace(-1, 1, 9)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")   # numpy's own conversion warnings are not the point
                net.train(data, labels, learn_rate=learn_rate, epochs=epochs, verbose=False)
        except (ValueError, TypeError):
            assert net.params.tolist() == np.linspace(-1, 1, 9).tolist()
