"""Benchmark fixtures and the speed-up report.

pytest-benchmark's own ratio column is relative to the fastest in a group; this conftest adds each
entry's speed-up over the baselines present in its group (the tutorial's numpy code, tinynet's
pure-Python backend, "serial" training of many networks) to the terminal report and, with
``--benchmark-json``, to each benchmark's ``extra_info``.
"""

import contextlib
import os

# $TINYNET_CPU forces the extension's level, to measure what a CPU of that level gets (v2 or v3 on an
# AVX2 or AVX-512 machine): Numba, which compiles for the host, is then compiled for the same x86-64
# level (LLVM's CPU names), set here before Numba is first imported, so that the "numba" entries are
# what that CPU would get too. $NUMBA_CPU_NAME, if set, is left as it is.
_FORCED = os.environ.get("TINYNET_CPU", "").strip()
if _FORCED in ("v2", "v3", "v4") and "NUMBA_CPU_NAME" not in os.environ:
    os.environ["NUMBA_CPU_NAME"] = f"x86-64-{_FORCED}"
    os.environ.setdefault("NUMBA_CPU_FEATURES", "")

import numpy as np  # noqa: E402  (after the environment is set)
import pytest  # noqa: E402

from tinynet import available_backends  # noqa: E402
from tinynet._backend import BACKENDS, load_backend, runnable_levels, using_level  # noqa: E402

BASELINES = ("numpy", "python", "serial", "plain-c", "sklearn", "sklearn-1-thread", "float64")


@pytest.fixture(scope="session")
def start_params():
    np.random.seed(0)
    return [np.random.normal() for _ in range(9)]


@pytest.fixture(autouse=True)
def _skip_backends_that_do_not_load(request):
    """An entry of a backend that does not load here (Numba not installed, say) is skipped, saying so."""
    callspec = getattr(request.node, "callspec", None)
    for value in callspec.params.values() if callspec else ():
        if isinstance(value, str):
            for name in set(value.split("-")) & set(BACKENDS):
                if name not in available_backends():
                    pytest.skip(f"the {name!r} backend does not load here")


def lower_levels():
    """Entries for the extension's levels below the one loaded that this CPU runs ("cython-v2", ...):
    the plain "cython" entry is the best level (or the one $TINYNET_CPU forces)."""
    try:
        best = load_backend("cython").LEVEL
    except ImportError:
        return []
    return [f"cython-{level}" for level in runnable_levels() if level != best]


def backend_of(entry):
    """(backend name, a function giving a new context) for an entry: "cython-v2" is the "cython"
    backend inside using_level("v2"); any other entry is itself, in no context."""
    if entry.startswith("cython-"):
        return "cython", lambda: using_level(entry.split("-", 1)[1])
    return entry, contextlib.nullcontext


def _entry(bench):
    """The name of a benchmark dict's entry: its "entry" parameter (a backend or a baseline)."""
    return (bench.get("params") or {}).get("entry") or bench["param"] or bench["name"]


def _medians(benchmarks):
    """{group: {entry: median seconds}} from benchmark dicts; the entry is the test's "entry" parameter."""
    table = {}
    for bench in benchmarks:
        table.setdefault(bench["group"], {})[_entry(bench)] = bench["stats"]["median"]
    return table


def pytest_benchmark_update_json(config, benchmarks, output_json):
    medians = _medians(output_json["benchmarks"])
    for bench in output_json["benchmarks"]:
        group = medians[bench["group"]]
        mine = group[_entry(bench)]
        for base in BASELINES:
            if base in group:
                bench["extra_info"][f"speedup_vs_{base}"] = group[base] / mine


def pytest_terminal_summary(terminalreporter, config):
    session = getattr(config, "_benchmarksession", None)
    if session is None or not session.benchmarks:
        return
    medians = _medians([bench.as_dict(include_data=False) for bench in session.benchmarks if bench])
    write = terminalreporter.write_line
    terminalreporter.section("speed-ups (median over median, same run)")
    for group, entries in medians.items():
        write(f"{group}:")
        for name, median in sorted(entries.items(), key=lambda item: item[1]):
            ratios = "".join(f"{entries[base] / median:>10.1f}x vs {base}"
                             for base in BASELINES if base in entries)
            write(f"  {name:<20}{median * 1e3:>12.3f} ms{ratios}")
