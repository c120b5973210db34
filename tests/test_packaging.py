"""The package's shape: build flags, Numba's options, no import cycle, optional dependencies, the sdist."""

import ast
import importlib.metadata
import importlib.util
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tarfile

import pytest

import tinynet
from tinynet._backend import built_levels, load_backend

try:
    import tomllib
except ImportError:          # Python 3.10
    tomllib = pytest.importorskip("tomli")

REPO = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = REPO / "tinynet"


def _setup_module():
    """setup.py, imported without running setup() (it runs only as a script)."""
    spec = importlib.util.spec_from_file_location("tinynet_setup", REPO / "setup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_c_flags_forbid_contraction_and_fast_math():
    setup = _setup_module()
    assert setup.UNIX_FLAGS == ["-fno-fast-math", "-ffp-contract=off", "-fno-math-errno"]
    assert setup.MSVC_FLAGS == ["/fp:precise", "/fp:contract-"]
    # Each level's flags select instructions (and FMA's among them) but nothing numeric: no
    # -ffast-math, no -ffp-contract; and no -march=native, so that a wheel runs on any CPU of its level.
    for by_name, by_features in setup.X86_LEVELS.values():
        assert all(re.fullmatch(r"-march=x86-64-v[234]|-m[a-z0-9.]+", flag) for flag in by_name + by_features)
    assert "native" not in (REPO / "setup.py").read_text().replace("-march=native or", "")
    assert setup.levels("x86_64") == ["v2", "v3", "v4"] and setup.levels("aarch64") == ["base"]
    assert setup.levels("AMD64", "msvc") == ["v2"]
    assert setup.directives(False) == {"language_level": 3, "boundscheck": False, "wraparound": False,
                                       "initializedcheck": False, "cdivision": True, "embedsignature": True}
    assert setup.directives(True)["boundscheck"] is True
    # A "# cython:" header in a source would silently override the directives of setup.py.
    for source in [PACKAGE / "_core.pyx", *PACKAGE.glob("_core_*.pxi")]:
        assert not re.search(r"^#\s*cython:", source.read_text(), flags=re.M), source


def test_the_kernels_are_optimised_whatever_the_users_cflags():
    """A user's CFLAGS replace Python's (its -O3 included): the build adds -O3 unless they name a level."""
    optimization = _setup_module().optimization
    assert optimization("") == ["-O3"] and optimization("-g -DNDEBUG") == ["-O3"]
    assert optimization("-g -O0") == [] and optimization("-Os") == []


@pytest.mark.parametrize("level", built_levels())
def test_the_extension_has_no_fused_multiply_add(level):
    """Each level's build holds no FMA instruction in its own code (-ffp-contract=off at work), the
    levels this CPU cannot run included (they are disassembled, not loaded)."""
    objdump = shutil.which("objdump")
    if objdump is None:
        pytest.skip("objdump (binutils) is not installed")
    core = pathlib.Path(importlib.util.find_spec(f"tinynet._core_{level}").origin)
    disassembly = subprocess.run([objdump, "-d", str(core)], capture_output=True, text=True,
                                 check=True).stdout
    assert len(disassembly) > 100_000
    # x86 FMA3/FMA4 (vfmadd231pd, vfnmsub..., vfmaddsub..., vfmaddpd) and AArch64 (fmadd, fmla, fmls)
    assert not re.search(r"\b(v?fn?m(add|sub)\w*|fml[as])\b", disassembly)
    # and it uses its level's vectors: ymm registers in v3, zmm in v4
    wanted = {"v3": "%ymm", "v4": "%zmm"}.get(level)
    if wanted is not None:
        assert wanted in disassembly


def test_numba_options_are_pinned():
    common = load_backend("numba")
    assert dict(nogil=True, cache=True, fastmath=False, error_model="numpy") == common.JIT_OPTIONS
    kernels = 0
    for family in ("common", "tutorial", "network"):
        module = load_backend("numba", family)
        for name, value in vars(module).items():
            options = getattr(value, "targetoptions", None)
            if options is not None and value.__module__ == module.__name__:
                kernels += 1
                assert options["fastmath"] is False and options["nogil"] is True, name
                assert options["error_model"] == "numpy", name
    assert kernels >= 25


def _imports(path):
    """The tinynet modules a source file imports (anywhere in it, functions included)."""
    text = path.read_text()
    if path.suffix in (".pyx", ".pxi"):
        return set(re.findall(r"^\s*from tinynet import (\w+)", text, flags=re.M))
    found = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:
                found.add(node.module.split(".")[0])
            elif node.level == 1:
                found.update(alias.name for alias in node.names)
            elif node.module and node.module.startswith("tinynet."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(alias.name.split(".")[1] for alias in node.names
                         if alias.name.startswith("tinynet."))
    return found


def test_no_import_cycle():
    sources = {path.stem: path for path in PACKAGE.glob("*.py")}
    sources["_core"] = PACKAGE / "_core.pyx"
    graph = {name: set() for name in sources}
    for name, path in sources.items():
        graph[name] |= _imports(path) & set(sources)
    for pxi in PACKAGE.glob("_core_*.pxi"):
        graph["_core"] |= _imports(pxi) & set(sources)
    assert graph["_cli"] >= {"_data", "_tutorial"} and "_codes" in graph["_core"]   # the parser sees imports

    def visit(name, path):
        for imported in graph[name]:
            assert imported not in path, f"import cycle: {' -> '.join([*path, imported])}"
            visit(imported, [*path, imported])

    for name in graph:
        visit(name, [name])


def _run(code, **env):
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                          cwd=REPO.parent, env={**os.environ, **env})
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_cli_and_bench_run_where_numba_is_not_installed():
    out = _run("import sys\n"
               "sys.modules['numba'] = None      # as where Numba is not installed\n"
               "import tinynet\n"
               "from tinynet._cli import main\n"
               "print(tinynet.available_backends())\n"
               "assert main(['--repeat', '1', '--quiet']) == 0\n"
               "assert main(['bench', '--repeat', '1', '--epochs', '20', '--quiet', '--compile']) == 0\n",
               TINYNET_BACKEND="")
    assert out.splitlines()[0] == "['cython', 'python']"
    assert "All backends agree bit for bit (lines, weights, losses, predictions): yes" in out
    assert "Numba: not installed here, so no compile time to measure" in out
    assert "numba not installed" in out                 # the machine line


def test_version_has_one_source():
    assert importlib.metadata.version("tinynet") == tinynet.__version__
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert "version" not in project and "version" in project["dynamic"]


def test_sdist_carries_every_tracked_test_benchmark_and_example(tmp_path):
    """The sdist, built from a copy of the tracked files, holds every tracked file the tests, the
    benchmarks and the examples use, and the Cython sources (never the generated C)."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs a git checkout to know the tracked files")
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True,
                             check=True).stdout.split()
    source = tmp_path / "source"
    for name in tracked:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, source / name)
    # TINYNET_PURE_PYTHON: the sdist's contents do not depend on it, and it needs no Cython here.
    code = ("import sys, setuptools.build_meta as build\n"
            f"print(build.build_sdist({str(tmp_path / 'dist')!r}))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=source, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "TINYNET_PURE_PYTHON": "1"})
    assert done.returncode == 0, done.stderr
    archive = tmp_path / "dist" / done.stdout.split()[-1]
    with tarfile.open(archive) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    wanted = {name for name in tracked
              if name.split("/")[0] in ("tests", "benchmarks", "examples", "docs", "tools")}
    wanted |= {name for name in tracked if name.startswith("tinynet/")} | {".ci/run", "setup.py"}
    assert wanted - names == set()
    assert "tinynet/_core.c" not in names and "tinynet/_cpu.c" not in names


PREDICT = ("import sys, numpy as np\n"
           "sys.path.insert(0, sys.argv[1])\n"
           "import tinynet\n"
           "assert tinynet.__file__.startswith(sys.argv[1])\n"
           "for backend in ('numba', 'python'):\n"
           "    net = tinynet.OurNeuralNetwork(backend=backend)\n"
           "    net.params = np.linspace(-1, 1, 9)\n"
           "    print(net.predict(np.linspace(-9, 9, 400).reshape(200, 2)).tolist())\n")


def test_numba_cache_follows_every_file_the_kernels_depend_on(tmp_path):
    """Numba keys a cached function on its own module's file alone: after an upgrade that changed
    only _exp_data.py (say), it would load the old machine code. tinynet's kernels are cached under a
    stamp of every file they depend on, so they are compiled again."""
    copy = tmp_path / "site"
    shutil.copytree(pathlib.Path(tinynet.__file__).parent, copy / "tinynet",
                    ignore=shutil.ignore_patterns("__pycache__"))
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    numba_before, python_before = _run_in(copy, env)
    assert numba_before == python_before
    data = copy / "tinynet" / "_exp_data.py"
    data.write_text(re.sub(r"(?m)^C3 = .*$", "C3 = 0.2", data.read_text()))     # another exp
    numba_after, python_after = _run_in(copy, env)
    assert python_after != python_before                # the change shows
    assert numba_after == python_after                  # and the cached kernel was not reused


def _run_in(site, env):
    done = subprocess.run([sys.executable, "-c", PREDICT, str(site)], capture_output=True, text=True,
                          timeout=600, cwd=site, env={**os.environ, **env})
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


@pytest.mark.parametrize("generator, needs", [
    pytest.param("gen_exp_data.py", "mpmath", id="exp-constants"),   # tinynet/_exp_data.py, from mpmath
    pytest.param("gen_rules.py", None, id="rules"),                  # tinynet/_rules.pxi, from _rules.py
    pytest.param("gen_float32.py", None, id="float32-kernels"),      # the float32 kernels, from the float64
])
def test_generated_files_are_what_their_generators_write(generator, needs):
    if needs:
        pytest.importorskip(needs)
    path = REPO / "tools" / generator
    if not path.exists():
        pytest.skip(f"tools/{generator} is not here (an installed copy of the tests)")
    done = subprocess.run([sys.executable, str(path), "--check"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "up to date" in done.stdout


def test_the_benchmarks_import_and_collect():
    """The benchmark suites import the package's names as they are now (a name moved from one module to
    another once broke them unseen: the test suite never imports them)."""
    if not (REPO / "benchmarks").is_dir():
        pytest.skip("no benchmarks/ beside the tests")
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                           "benchmarks"], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "error" not in done.stdout.lower()
    assert int(re.search(r"(\d+) tests? collected", done.stdout).group(1)) > 20
