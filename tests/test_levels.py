"""The extension's builds per instruction-set level: which are built, which load, and that every level
the machine runs computes the same bits as the pure-Python backend, on every code path of the tiles."""

import os
import pathlib
import platform
import subprocess
import sys

import numpy as np
import pytest

import tinynet  # noqa: F401  (the package under test)
from tinynet import Network, OurNeuralNetwork, train_many
from tinynet._backend import (
    CPU_ENV_VAR,
    LEVELS,
    built_levels,
    cpu_levels,
    load_backend,
    load_level,
    runnable_levels,
    show_config,
    using_level,
)
from tinynet._data import tutorial_data

REPO = pathlib.Path(__file__).resolve().parents[1]
X86 = platform.machine().lower() in ("x86_64", "amd64")
RUNNABLE = runnable_levels()


def _run(code, **env):
    """A new interpreter, from a neutral directory (the installed package, not the source tree)."""
    environment = {key: value for key, value in os.environ.items() if key != CPU_ENV_VAR}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          cwd=REPO.parent, env={**environment, **env})


def test_every_level_of_the_architecture_is_built():
    assert built_levels() == (["v2", "v3", "v4"] if X86 else ["base"])


def test_the_machine_runs_at_least_two_levels_here():
    """Guard: on x86-64 CI compares at least two builds (v2 and v3; v4 too on AVX-512 machines)."""
    if X86:
        assert RUNNABLE[:2] == ["v2", "v3"], RUNNABLE
    else:
        assert RUNNABLE == ["base"]


@pytest.mark.skipif(not pathlib.Path("/proc/cpuinfo").exists() or not X86, reason="reads Linux's x86 cpuinfo")
def test_cpu_levels_agree_with_the_kernels_view_of_the_cpu():
    """The compiler's builtins (tinynet._cpu) against the flags Linux reports (which it clears for
    registers it does not save)."""
    text = pathlib.Path("/proc/cpuinfo").read_text()
    flags = set(next(line for line in text.splitlines() if line.startswith("flags")).split(":")[1].split())
    v2 = {"sse4_2", "sse4_1", "ssse3", "pni", "popcnt", "cx16", "lahf_lm"} <= flags
    v3 = v2 and {"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"} <= flags
    v4 = v3 and {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"} <= flags
    expected = [name for name, has in (("v2", v2), ("v3", v3), ("v4", v4)) if has]
    assert cpu_levels() == expected


def test_the_best_level_is_loaded_by_default():
    if os.environ.get(CPU_ENV_VAR):
        pytest.skip(f"${CPU_ENV_VAR} is set")
    assert RUNNABLE[-1] == load_backend("cython").LEVEL
    assert f"tinynet._core_{RUNNABLE[-1]}" in show_config()


@pytest.mark.parametrize("level", RUNNABLE)
def test_each_level_says_what_it_is(level):
    module = load_level(level)
    assert level == module.LEVEL
    assert {"v2": 128, "v3": 256, "v4": 512, "base": 128 if not X86 else 64}[level] == module.VECTOR_BITS


def test_the_environment_chooses_a_lower_level():
    done = _run("import tinynet, tinynet._backend as b\n"
                "net = tinynet.Network((3, 9, 2))\n"
                "print(b.load_backend('cython').LEVEL)\n"
                "print(b.show_config())\n", **{CPU_ENV_VAR: RUNNABLE[0]})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == RUNNABLE[0]
    assert f"tinynet._core_{RUNNABLE[0]}" in done.stdout and f"forced by ${CPU_ENV_VAR}" in done.stdout


def test_an_unknown_level_is_refused():
    done = _run("import tinynet\ntinynet.Network((2, 2, 1))\n", **{CPU_ENV_VAR: "v9"})
    assert done.returncode == 1
    assert f"ValueError: unknown level 'v9' in ${CPU_ENV_VAR}" in done.stderr


def test_a_level_above_the_cpu_is_refused_and_never_loaded():
    """Told that the CPU runs only v2 (or, off x86-64, nothing), the loader refuses v3 without importing
    it: importing a build for instructions the CPU lacks would kill the process."""
    code = ("import sys, tinynet._cpu as cpu\n"
            "cpu.x86_64_level = lambda: 2\n"
            "import tinynet._backend as b\n"
            "for level in ('v3', 'v4'):\n"
            "    try:\n"
            "        b.load_level(level)\n"
            "    except ValueError as exc:\n"
            "        print(exc)\n"
            "    print(f'tinynet._core_{level}' in sys.modules)\n"
            "import os\n"
            "os.environ['TINYNET_CPU'] = 'v3'\n"
            "try:\n"
            "    b.load_backend('cython')\n"
            "except ValueError as exc:\n"
            "    print(exc)\n")
    done = _run(code)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == ("this CPU cannot run the v3 build of the kernels (x86-64-v3 (AVX2, 256-bit "
                        "vectors)); it runs v2")
    assert lines[1] == "False" and lines[3] == "False"
    assert lines[4].startswith(f"${CPU_ENV_VAR}=v3 asks for x86-64-v3") and "it runs v2" in lines[4]


@pytest.mark.skipif(not X86 or "v4" in cpu_levels(), reason="needs an x86-64 CPU without AVX-512")
def test_the_real_cpu_refuses_avx512_here():
    done = _run("import tinynet\ntinynet.Network((2, 2, 1), backend='cython')\n", **{CPU_ENV_VAR: "v4"})
    assert done.returncode == 1 and "ValueError" in done.stderr and "does not support" in done.stderr


def test_no_build_is_loaded_on_a_cpu_below_them_all():
    """A CPU below x86-64-v2: the cython backend is unavailable (a clear ImportError), and the default
    is the next backend."""
    code = ("import tinynet._cpu as cpu\n"
            "cpu.x86_64_level = lambda: 1\n"
            "import tinynet\n"
            "print(tinynet.available_backends())\n"
            "try:\n"
            "    tinynet.Network((2, 2, 1), backend='cython')\n"
            "except ImportError as exc:\n"
            "    print(exc)\n")
    if not X86:
        pytest.skip("x86-64 levels")
    done = _run(code, TINYNET_BACKEND="")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "['numba', 'python']"
    assert "no build of the kernels runs on this CPU" in lines[1]


# --- every level, the same bits as pure Python -------------------------------------------------------

def _data(n, n_in, n_out, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(0, 1, (n, n_in))
    return X, np.eye(n_out)[rng.integers(0, n_out, n)] if n_out > 1 else (X[:, :1] > 0).astype(float)


#: Layer widths across the tiles' paths: narrower than a vector, one TN_VEC, ragged edges past whole
#: tiles (33, 40, 77: passes of half and quarter tiles), more rows than a four-row group leaves even.
NETWORKS = {
    "narrow": dict(sizes=(3, 5, 2), activation="tanh", output="softmax", loss="cross_entropy"),
    "ragged": dict(sizes=(9, 77, 33, 3), activation="sigmoid", output="sigmoid", loss="mse"),
    "wide": dict(sizes=(70, 40, 10), activation="relu", output="softmax", loss="cross_entropy"),
    "regression": dict(sizes=(13, 17, 1), activation="relu", output="identity", loss="mse"),
}
#: Every training path: per-sample SGD (the fused first-layer update), with momentum (its velocity
#: rows), and the batch kernels at batch sizes 1 (the outer-product update), 3 and 7 (the four-sample
#: tiles and their rest) and 70 (more than a block), with SGD, momentum, Nesterov, Adam and L2.
OPTIONS = {
    "per-sample": dict(learn_rate=0.01),
    "per-sample momentum": dict(learn_rate=0.01, momentum=0.7),
    "batch 1 nesterov": dict(learn_rate=0.01, batch_size=1, momentum=0.8, nesterov=True, alpha=1e-3),
    "batch 3 adam": dict(learn_rate=0.01, batch_size=3, optimizer="adam", alpha=1e-2, shuffle=True),
    "batch 7 momentum": dict(learn_rate=0.01, batch_size=7, momentum=0.5),
    "batch 70 adam": dict(learn_rate=0.01, batch_size=70, optimizer="adam"),
}


def _trained(level, config, options, X, Y):
    def run():
        net = Network(seed=3, backend="cython" if level else "python", **config)
        net.train(X, Y, epochs=3, loss_every=1, **options)
        point = net.params
        loss, grads = net.loss_and_gradient(X, Y, alpha=1e-3)
        return (net.params.tobytes(), np.asarray(net.loss_history).tobytes(), net.predict(X).tobytes(),
                np.float64(loss).tobytes(), grads.tobytes(), point.tobytes())

    if level is None:
        return run()
    with using_level(level):
        return run()


@pytest.mark.parametrize("options", list(OPTIONS))
@pytest.mark.parametrize("network", list(NETWORKS))
def test_every_level_equals_pure_python(network, options):
    config = NETWORKS[network]
    X, Y = _data(75, config["sizes"][0], config["sizes"][-1])
    expected = _trained(None, config, OPTIONS[options], X, Y)
    for level in RUNNABLE:
        assert _trained(level, config, OPTIONS[options], X, Y) == expected, level


@pytest.mark.parametrize("level", RUNNABLE)
def test_every_level_trains_many_networks_as_pure_python(level):
    X, Y = _data(40, 2, 1)
    config = dict(sizes=(2, 16, 16, 1))
    rates = np.linspace(0.01, 0.2, 21)

    def bits(backend):
        nets = [Network(seed=seed, backend=backend, **config) for seed in range(len(rates))]
        train_many(nets, X, Y, learn_rate=rates, momentum=0.3, epochs=4, loss_every=2)
        return [net.params.tobytes() for net in nets]

    expected = bits("python")
    with using_level(level):
        assert bits("cython") == expected


@pytest.mark.parametrize("level", RUNNABLE)
def test_every_level_runs_the_tutorial_as_pure_python(level):
    X, y = tutorial_data()

    def trained(backend):
        np.random.seed(0)
        net = OurNeuralNetwork(backend=backend)
        net.train(X, y, epochs=300, verbose=False)
        return net.params.tobytes(), net.predict(X).tobytes()

    expected = trained("python")
    with using_level(level):
        assert trained("cython") == expected


@pytest.mark.parametrize("level", RUNNABLE)
def test_signed_zeros_keep_their_sign_in_every_level(level):
    """A broadcast of -0.0 stays -0.0 (0.0 + x would not): a sample of negative zeros through zero
    weights gives sums of -0.0 * 0.0 ... in every backend alike."""
    config = dict(sizes=(16, 24, 2), activation="relu", output="identity", loss="mse")
    X = -np.zeros((6, 16))
    Y = np.zeros((6, 2))

    def run(backend):
        net = Network(seed=0, backend=backend, **config)
        net.params = np.where(np.arange(net.params.size) % 2 == 0, 0.0, -0.0)
        net.train(X, Y, learn_rate=0.1, epochs=2, loss_every=1)
        return net.params.tobytes(), net.predict(X).tobytes()

    expected = run("python")
    with using_level(level):
        assert run("cython") == expected


def test_using_level_restores_the_default():
    before = load_backend("cython")
    with using_level(RUNNABLE[0]) as module:
        assert load_backend("cython") is module
    assert load_backend("cython") is before


def test_levels_are_named_alike_everywhere():
    assert set(LEVELS) == {"v2", "v3", "v4", "base"}
    setup = (REPO / "setup.py").read_text()
    for level in ("v2", "v3", "v4"):
        assert f'"{level}": (["-march=x86-64-{level}"]' in setup
