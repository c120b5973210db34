"""Which backends load, how one is chosen, and that the compiled ones are the real, fresh builds."""

import inspect
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import tinynet
from tinynet import OurNeuralNetwork, available_backends
from tinynet._backend import BACKENDS, ENV_VAR, FAMILIES, load_backend

REPO = pathlib.Path(__file__).resolve().parents[1]


def test_compiled_backends_are_loaded():
    """Guard: CI must not pass on the pure-Python fallback alone."""
    assert available_backends() == ["cython", "numba", "python"]


def test_cython_extension_is_the_installed_fresh_build():
    """Guard against a stale or foreign ``_core_<level>`` (e.g. left in the source tree by an in-place
    build)."""
    core = load_backend("cython")
    package_dir = pathlib.Path(tinynet.__file__).resolve().parent
    core_file = pathlib.Path(core.__file__).resolve()
    assert core_file.parent == package_dir
    assert core_file.suffix in (".so", ".pyd")
    pyx = REPO / "tinynet" / "_core.pyx"
    if package_dir == pyx.parent.resolve():
        # Imported from the source tree (an editable or in-place build): it must not predate the source.
        assert core_file.stat().st_mtime >= pyx.stat().st_mtime, (
            f"{core_file} is older than {pyx}: rebuild it (pip install .)")


def _parameters(function):
    """A kernel's parameter names and kinds (a Numba dispatcher's from the function it compiles)."""
    signature = inspect.signature(getattr(function, "py_func", function))
    return [(parameter.name, parameter.kind) for parameter in signature.parameters.values()]


@pytest.mark.parametrize("family", FAMILIES)
def test_kernels_mirror_each_other(family):
    """Per family, the three backends define the same kernels, with the same arguments in the same
    order, so that they can be laid side by side."""
    python = load_backend("python", family)
    numba = load_backend("numba", family)
    names = python.__all__
    assert names and set(numba.__all__) - {"JIT_OPTIONS", "jit"} == set(names)
    for name in names:
        expected = _parameters(getattr(python, name))
        assert _parameters(getattr(numba, name)) == expected, f"numba {family} {name}"
        assert _parameters(getattr(load_backend("cython", family), name)) == expected, f"cython {name}"


def test_the_extension_holds_no_kernel_the_other_backends_lack():
    core = load_backend("cython")
    public = {name for name in dir(core) if not name.startswith("_") and callable(getattr(core, name))}
    assert public == {name for family in FAMILIES for name in load_backend("python", family).__all__}


def test_default_backend_is_the_fastest_available(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert OurNeuralNetwork().backend == available_backends()[0] == "cython"


@pytest.mark.parametrize("name", BACKENDS)
def test_environment_variable_chooses_backend(monkeypatch, name):
    monkeypatch.setenv(ENV_VAR, name)
    assert OurNeuralNetwork().backend == name


def test_keyword_overrides_environment(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "python")
    assert OurNeuralNetwork(backend="numba").backend == "numba"


def test_unknown_backend_lists_available_ones():
    with pytest.raises(ValueError, match=r"unknown backend 'fortran'.*'cython'.*'numba'.*'python'"):
        OurNeuralNetwork(backend="fortran")


def test_unknown_backend_in_environment(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "gpu")
    with pytest.raises(ValueError, match=r"'gpu' in \$TINYNET_BACKEND"):
        OurNeuralNetwork()


def test_backend_of_wrong_type():
    with pytest.raises(TypeError, match="backend must be a string or None, not int"):
        OurNeuralNetwork(backend=3)


def test_unknown_backend_draws_no_random_numbers():
    np.random.seed(5)
    with pytest.raises(ValueError):
        OurNeuralNetwork(backend="nope")
    after_failure = np.random.normal()
    np.random.seed(5)
    assert np.random.normal() == after_failure


def _run(code, **env):
    # From a neutral directory, so that the installed package is imported, not the source tree.
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, **env}, timeout=300, cwd=REPO.parent)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_import_does_not_import_numba():
    out = _run("import sys, tinynet; net = tinynet.OurNeuralNetwork(); "
               "print(net.backend, 'numba' in sys.modules)", TINYNET_BACKEND="")
    assert out.split() == ["cython", "False"]


def test_missing_extension_is_a_clear_import_error():
    # Hide the compiled modules, as on an install made with TINYNET_PURE_PYTHON=1.
    code = ("import sys\n"
            "for name in ('_cpu', '_core_v2', '_core_v3', '_core_v4', '_core_base'):\n"
            "    sys.modules['tinynet.' + name] = None\n"
            "import tinynet\n"
            "print(tinynet.available_backends())\n"
            "try:\n"
            "    tinynet.OurNeuralNetwork(backend='cython')\n"
            "except ImportError as exc:\n"
            "    print('ImportError:', exc)\n"
            "print(tinynet.OurNeuralNetwork().backend)\n")
    out = _run(code, TINYNET_BACKEND="").splitlines()
    assert out[0] == "['numba', 'python']"
    assert out[1].startswith("ImportError: the 'cython' backend cannot be loaded")
    assert "pip install" in out[1]
    assert out[2] == "numba"
