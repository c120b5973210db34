"""A network's state is changed only through validation and under its lock: its structure is read-only
(no write can reach the kernels unchecked), threads lose no training, the optimizer's state is
claimed atomically, output written during training may read the network, and a refused call changes
nothing."""

import io
import json
import os
import pathlib
import stat
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

from tinynet import Network

REPO = pathlib.Path(__file__).resolve().parents[1]


def _data(n=40, n_in=2, n_out=1, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(0, 1, (n, n_in))
    Y = (X[:, :1] > 0).astype(float) if n_out == 1 else np.eye(n_out)[rng.integers(0, n_out, n)]
    return X, Y


# --- the structure is read-only ---------------------------------------------------------------------

@pytest.mark.parametrize("name, value", [("sizes", (1, 1, 1)), ("activation", "relu"), ("output", "identity"),
                                         ("loss_name", "cross_entropy"), ("weights", []), ("biases", [])])
def test_the_structure_cannot_be_assigned(backend, name, value):
    net = Network((4, 3, 2), backend=backend, seed=0)
    before = net.params
    with pytest.raises(AttributeError):
        setattr(net, name, value)
    assert net.sizes == (4, 3, 2) and net.activation == "sigmoid" and net.params.tobytes() == before.tobytes()


def test_the_layer_lists_are_fixed_but_their_arrays_writable(backend):
    net = Network((3, 2, 1), backend=backend, seed=0)
    with pytest.raises(TypeError):
        net.weights[0] = np.ones((2, 3))           # would show M and change nothing
    net.weights[0][...] = 1.5                       # the documented way: into the view
    net.biases[1][0] = -2.0
    assert (net.params[:6] == 1.5).all() and net.params[-1] == -2.0


SIZES_THEN_TRAIN = textwrap.dedent("""
    import sys, numpy as np
    from tinynet import Network
    net = Network((64, 32, 10), backend=sys.argv[1], seed=0)
    try:
        net.sizes = (1, 1, 1)
    except AttributeError as exc:
        print("refused:", exc)
    X = np.random.default_rng(0).normal(size=(20, 64))
    y = np.random.default_rng(1).integers(0, 10, 20)
    net.train(X, np.eye(10)[y], epochs=2)
    print(net.predict(X).shape, np.isfinite(net.params).all())
""")


def test_assigning_sizes_cannot_crash_the_interpreter(backend):
    """What aborted the interpreter (malloc corruption, double free): now a refusal, and training
    goes on with the network's real structure. In a subprocess, in case it still crashed."""
    done = subprocess.run([sys.executable, "-c", SIZES_THEN_TRAIN, backend], capture_output=True, text=True,
                          timeout=300, cwd=REPO.parent)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("refused:") and lines[1] == "(20, 10) True"


# --- threads ------------------------------------------------------------------------------------------

@pytest.fixture
def short_switches():
    """Switch threads every microsecond, so that any gap between a read and a write shows."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def _in_threads(count, work):
    barrier = threading.Barrier(count)
    errors = []

    def run(index):
        barrier.wait()
        try:
            work(index)
        except Exception as exc:          # collected, checked by the caller
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return errors


@pytest.mark.parametrize("sizes", [(2, 2, 1), (2, 5, 1)])
def test_concurrent_trains_lose_no_work(backend, short_switches, sizes):
    """Four threads each train the same network (the tutorial's network takes its own kernel): the
    result is four trainings, one after the other (every call is the same, so any order gives it)."""
    X, Y = _data()
    shared = Network(sizes, backend=backend, seed=1)
    alone = Network(sizes, backend=backend, seed=1)
    epochs = 30 if backend != "python" else 5
    errors = _in_threads(4, lambda _: shared.train(X, Y, learn_rate=0.2, epochs=epochs, loss_every=0))
    assert errors == []
    for _ in range(4):
        alone.train(X, Y, learn_rate=0.2, epochs=epochs, loss_every=0)
    assert shared.params.tobytes() == alone.params.tobytes()


def test_an_assignment_during_training_is_not_lost(backend, short_switches):
    """params assigned while another thread trains the tutorial's network: the network ends either as
    the training of the assigned values or as the assignment itself, never as the training of the
    old values (the assignment lost)."""
    X, Y = _data()
    net = Network((2, 2, 1), backend=backend, seed=1)
    start, assigned = net.params, np.linspace(-1, 1, 9)
    epochs = 200 if backend != "python" else 20

    def work(index):
        if index == 0:
            net.train(X, Y, learn_rate=0.2, epochs=epochs, loss_every=0)
        else:
            net.params = assigned

    assert _in_threads(2, work) == []
    trained_old = Network((2, 2, 1), backend=backend, seed=1)
    trained_old.params = start
    trained_old.train(X, Y, learn_rate=0.2, epochs=epochs, loss_every=0)
    trained_new = Network((2, 2, 1), backend=backend, seed=1)
    trained_new.params = assigned
    trained_new.train(X, Y, learn_rate=0.2, epochs=epochs, loss_every=0)
    assert net.params.tobytes() in (assigned.tobytes(), trained_new.params.tobytes())
    assert net.params.tobytes() != trained_old.params.tobytes()


def test_two_optimizers_never_share_a_state(backend, short_switches):
    """Adam and SGD with momentum race for one network: one trains, the other is refused, and the state
    is the winner's alone (in 20 trials)."""
    X, Y = _data(n_out=3, n_in=4)
    for trial in range(20 if backend != "python" else 4):
        net = Network((4, 6, 3), output="softmax", loss="cross_entropy", backend=backend, seed=trial)
        options = [dict(optimizer="adam", batch_size=4), dict(momentum=0.9)]
        errors = _in_threads(2, lambda index, net=net, options=options: net.train(
            X, Y, epochs=3, learn_rate=0.01, **options[index]))
        assert len(errors) == 1 and isinstance(errors[0], ValueError), errors
        winner = "adam" if "Adam's" in str(errors[0]) else "sgd"
        alone = Network((4, 6, 3), output="softmax", loss="cross_entropy", backend=backend, seed=trial)
        alone.train(X, Y, epochs=3, learn_rate=0.01, **options[winner == "sgd"])
        assert net.optimizer_state["optimizer"] == winner
        assert net.params.tobytes() == alone.params.tobytes()


class _Reading(io.StringIO):
    """A stdout that reads the network on every write, as a logging wrapper might."""

    def __init__(self, net, X):
        super().__init__()
        self.net, self.X, self.reads = net, X, 0

    def write(self, text):
        self.net.predict(self.X[:2])
        self.net.params                           # noqa: B018  (a read under the lock)
        self.reads += 1
        return super().write(text)


def test_output_during_training_may_read_the_network(backend, monkeypatch):
    """The loss lines are written while training holds the network: a stdout that reads the network
    then must not deadlock (the lock is re-entrant; run in a thread with a time limit)."""
    X, Y = _data()
    net = Network((2, 3, 1), backend=backend, seed=0)
    out = _Reading(net, X)
    monkeypatch.setattr(sys, "stdout", out)
    worker = threading.Thread(target=net.train, args=(X, Y), kwargs=dict(epochs=20, verbose=True),
                              daemon=True)
    worker.start()
    worker.join(timeout=120)
    monkeypatch.undo()
    assert not worker.is_alive(), "deadlock: the output's read of the network never returned"
    assert out.reads > 0 and out.getvalue().count("Epoch") == 2


# --- a refused call changes nothing ---------------------------------------------------------------------

def _snapshot(net):
    return (net.params.tobytes(), list(net.loss_history), repr(net.optimizer_state),
            net._rng.bit_generator.state)


@pytest.mark.parametrize("options", [dict(batch_size=2**63), dict(loss_every=2**63), dict(epochs=2**64),
                                     dict(batch_size=-1)], ids=str)
def test_counts_too_large_for_a_kernel_are_refused_alike(backend, options):
    X, Y = _data()
    net = Network((2, 3, 1), backend=backend, seed=0)
    net.train(X, Y, epochs=2, loss_every=1, shuffle=True, optimizer="adam", batch_size=4)
    before = _snapshot(net)
    name = next(iter(options))
    with pytest.raises(ValueError, match=rf"^{name} must be (at most 2\*\*63 - 1|at least 1), got -?\d+$"):
        net.train(X, Y, shuffle=True, optimizer="adam", **{"batch_size": 4, **options})
    assert _snapshot(net) == before


def test_progress_without_tqdm_changes_nothing(backend, monkeypatch):
    X, Y = _data()
    net = Network((2, 3, 1), backend=backend, seed=0)
    net.train(X, Y, epochs=2, loss_every=1)
    before = _snapshot(net)
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    with pytest.raises(ImportError, match="progress=True needs tqdm"):
        net.train(X, Y, epochs=2, progress=True, optimizer="adam", shuffle=True)
    assert _snapshot(net) == before
    monkeypatch.undo()
    net.train(X, Y, epochs=2, optimizer="adam")          # not refused as holding another state
    assert net.optimizer_state["optimizer"] == "adam"


# --- files ------------------------------------------------------------------------------------------------

def test_save_writes_through_a_symlink(tmp_path):
    target = tmp_path / "real.json"
    link = tmp_path / "link.json"
    Network((2, 3, 1), seed=0).save(target)
    link.symlink_to(target)
    net = Network((2, 3, 1), seed=5)
    net.save(link)
    assert link.is_symlink() and Network.load(target).params.tobytes() == net.params.tobytes()


def test_save_keeps_a_files_mode_and_a_new_one_follows_the_umask(tmp_path):
    path = tmp_path / "net.json"
    Network((2, 3, 1), seed=0).save(path)
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    path.chmod(0o640)
    Network((2, 3, 1), seed=1).save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_save_refuses_what_is_not_a_regular_file(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match=r"cannot save to '.*pipe': it is not a regular file"):
        Network((2, 3, 1)).save(fifo)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    with pytest.raises(OSError, match="not a regular file"):
        Network((2, 3, 1)).save(tmp_path)
    if os.path.exists(os.devnull):
        with pytest.raises(OSError, match="not a regular file"):
            Network((2, 3, 1)).save(os.devnull)
        assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


def test_save_and_load_take_bytes_paths_and_errors_name_the_users_path(tmp_path):
    net = Network((2, 3, 1), seed=0)
    path = os.fsencode(tmp_path / "net.json")
    net.save(path)
    assert Network.load(path).params.tobytes() == net.params.tobytes()
    with pytest.raises(OSError, match=r"cannot save to '.*missing/net.json'"):
        net.save(tmp_path / "missing" / "net.json")


@pytest.mark.parametrize("content, message", [
    (b"\x89PNG\r\n\x1a\n\x00\x00", "it is not UTF-8 text"),
    ('{"format": "tinynet.Network"}'.encode("utf-16"), "it is not UTF-8 text"),
    (b"[" * 100_000 + b"]" * 100_000, "its JSON is nested too deeply"),
])
def test_load_of_a_file_that_is_not_json_names_the_file(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=rf"cannot load '.*bad.json': {message}"):
        Network.load(path)


def _saved_adam(tmp_path):
    X, Y = _data()
    net = Network((2, 3, 1), seed=0)
    net.train(X, Y, epochs=2, optimizer="adam", batch_size=8)
    path = tmp_path / "net.json"
    net.save(path)
    return path, json.loads(path.read_text())


@pytest.mark.parametrize("change, message", [
    (lambda doc: doc["optimizer"].update(t=2**63), "t must be a count below 2\\*\\*63"),
    (lambda doc: doc["optimizer"]["v"].__setitem__(3, -1e-3),
     r"v must be >= 0, got -0.001 at weights\[0\]\[1, 1\]"),
    (lambda doc: doc["params"].__setitem__(0, 1e400), "params"),
])
def test_load_refuses_values_out_of_range_naming_the_file(tmp_path, change, message):
    path, document = _saved_adam(tmp_path)
    change(document)
    path.write_text(json.dumps(document))
    with pytest.raises(ValueError, match=rf"cannot load '.*net.json': .*{message}"):
        Network.load(path)


# --- smaller refusals and acceptances -----------------------------------------------------------------------

def test_numpy_integers_are_integers():
    from tinynet import train_many

    X, Y = _data()
    same = Network((2, 3, 1), seed=3).params.tobytes()
    assert Network((2, 3, 1), seed=np.int64(3)).params.tobytes() == same
    nets = [Network((2, 3, 1), seed=seed) for seed in range(3)]
    train_many(nets, X, Y, n_jobs=np.int64(2), epochs=2)
    alone = Network((2, 3, 1), seed=0)
    alone.train(X, Y, epochs=2)
    assert nets[0].params.tobytes() == alone.params.tobytes()


@pytest.mark.parametrize("rate", [0, -1, -0.0])
def test_a_learning_rate_must_be_positive(backend, rate):
    from tinynet import OurNeuralNetwork, train_many

    X, Y = _data()
    net = Network((2, 3, 1), backend=backend, seed=0)
    before = _snapshot(net)
    with pytest.raises(ValueError, match=r"learn_rate must be > 0"):
        net.train(X, Y, learn_rate=rate)
    with pytest.raises(ValueError, match=r"learn_rate must be > 0"):
        OurNeuralNetwork(backend=backend).train(X, Y[:, 0], learn_rate=rate)
    with pytest.raises(ValueError, match=r"network 1: learn_rate must be > 0, got "):
        train_many([Network((2, 3, 1), backend=backend), net], X, Y, learn_rate=[0.1, rate])
    assert _snapshot(net) == before


@pytest.mark.parametrize("sizes", [(True, 2, 1), (2, False, 1), np.array([True, True])])
def test_booleans_are_not_layer_sizes(sizes):
    with pytest.raises(ValueError, match="sizes must be at least two positive integers"):
        Network(sizes)


def test_a_network_too_large_to_hold_is_refused_before_allocating():
    with pytest.raises(ValueError, match=r"sizes \(1000000, 1000000\) need 1,000,001,000,000 parameters "
                                         r"\(22,352 GiB .*\): more than tinynet's limit of 2,147,483,648"):
        Network((10**6, 10**6))


@pytest.mark.parametrize("name", ["shuffle", "verbose", "progress"])
def test_flags_must_be_booleans(name):
    X, Y = _data()
    net = Network((2, 3, 1), seed=0)
    before = _snapshot(net)
    with pytest.raises(TypeError, match=f"{name} must be True or False, not str"):
        net.train(X, Y, **{name: "no"})
    assert _snapshot(net) == before


def test_from_tutorial_takes_only_the_tutorials_class():
    with pytest.raises(TypeError, match=r"from_tutorial takes an OurNeuralNetwork, not Network .*deepcopy"):
        Network.from_tutorial(Network((2, 2, 1)))


def test_pure_pythons_adam_is_plain_floats_like_the_others():
    """Its step size was a numpy scalar mixed into Python floats: numpy warned on extreme values, and
    under np.errstate(all="raise") it raised where the compiled backends finish. Now: the same bits,
    silently."""
    X = np.array([[0.0, 1.0], [0.0, -2.0]])          # the first input's weights get zero gradients
    Y = np.array([[1.0], [0.0]])
    results = []
    for backend in ("cython", "python"):
        net = Network((2, 3, 1), seed=0, backend=backend)
        # lr_t overflows to inf (1e308 * sqrt(0.001) / 0.001), and inf * 0.0 is NaN: the network
        # diverges, alike in every backend, with tinynet's one warning and no other
        with np.errstate(all="raise"), pytest.warns(RuntimeWarning, match="training diverged") as caught:
            net.train(X, Y, epochs=1, optimizer="adam", learn_rate=1e308, beta_1=0.999, batch_size=1,
                      loss_every=0)
        assert len(caught) == 1
        results.append(np.where(np.isnan(net.params), np.nan, net.params).tobytes())
    assert results[0] == results[1]
