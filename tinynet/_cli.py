"""The ``tinynet`` console script (also ``python -m tinynet``): the main job, ``bench`` and ``plot``.

``python -m tinynet`` (the main job) trains the tutorial network on every available backend, prints
the tutorial's loss lines once, Emily and Frank per backend, whether the backends agree bit for bit,
and a table of training speed against the tutorial's own numpy code.

``python -m tinynet bench`` prints the speed table at any size (``--samples``, ``--epochs``,
``--repeat``), a scaling table (``--sizes``), Numba's compile time (``--compile``), and can write
everything as JSON (``--json FILE``).

``python -m tinynet plot --out FILE.png`` draws the trained tutorial network (needs matplotlib).
"""

import argparse
import contextlib
import importlib
import io
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from ._backend import (
    available_backends,
    cpu_levels,
    load_backend,
    resolve_backend,
    runnable_levels,
    show_config,
    using_level,
)
from ._baseline import train_numpy
from ._data import EMILY, FRANK, synthetic_data, tutorial_data
from ._tutorial import OurNeuralNetwork
from ._version import __version__

__all__ = ["main"]

SIZES = (4, 100, 10_000, 1_000_000)


def _start_params(seed):
    np.random.seed(seed)
    return [np.random.normal() for _ in range(9)]


class _Progress:
    """A one-line progress display on stderr: rewritten in place on a terminal, plain lines elsewhere."""

    def __init__(self, enabled=True):
        self.enabled = enabled
        self.tty = enabled and sys.stderr.isatty()
        self.width = 0
        self.last = None

    def __call__(self, text, detail=""):
        """Show ``text`` and ``detail``; elsewhere than on a terminal, ``text`` once, when it changes."""
        if not self.enabled:
            return
        if self.tty:
            line = f"{text}{detail}"
            sys.stderr.write("\r" + line.ljust(self.width))
            self.width = len(line)
        elif text != self.last:
            sys.stderr.write(text + "\n")
        self.last = text
        sys.stderr.flush()

    def done(self):
        if self.tty and self.width:
            sys.stderr.write("\r" + " " * self.width + "\r")
            sys.stderr.flush()
        self.width = 0


def _time_training(name, params, data, y, epochs, repeat, max_seconds, progress):
    """Median seconds of training from ``params`` (fresh each round) on one backend or numpy."""
    if name == "numpy":
        def run():
            train_numpy(params, data, y, 0.1, epochs)
    else:
        net = OurNeuralNetwork(backend=name)
        net.params = params
        net.train(data[:1], y[:1], epochs=1, verbose=False)   # compile or load before timing

        def run():
            net.params = params
            net.train(data, y, learn_rate=0.1, epochs=epochs, verbose=False, loss_every=0)
    times: list[float] = []
    spent = 0.0
    while len(times) < repeat and (not times or spent < max_seconds):
        progress(f"timing {name}", f": round {len(times) + 1} of {repeat}")
        start = time.perf_counter()
        run()
        elapsed = time.perf_counter() - start
        times.append(elapsed)
        spent += elapsed
    return times


def _speed_rows(names, data, y, epochs, repeat, max_seconds, progress, seed=0):
    params = _start_params(seed)
    steps = len(data) * epochs
    rows = []
    for name in names:
        if name.startswith("cython-"):           # a lower level of the extension, beside the best
            with using_level(name.split("-", 1)[1]):
                times = _time_training("cython", params, data, y, epochs, repeat, max_seconds, progress)
        else:
            times = _time_training(name, params, data, y, epochs, repeat, max_seconds, progress)
        median = statistics.median(times)
        rows.append({"backend": name, "samples": len(data), "epochs": epochs, "rounds": len(times),
                     "median_s": median, "ns_per_step": median / steps * 1e9})
    progress.done()
    by_name = {row["backend"]: row["median_s"] for row in rows}
    for row in rows:
        for base in ("numpy", "python"):
            if base in by_name:
                row[f"speedup_vs_{base}"] = by_name[base] / row["median_s"]
    return rows


def _format_seconds(seconds):
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def _print_speed_table(rows, out):
    label = {"numpy": "numpy (tutorial's code)"}
    print(f"{'backend':<24}{'median':>10}{'ns/step':>11}{'vs numpy':>11}{'vs python':>11}"
          f"{'rounds':>8}", file=out)
    for row in rows:
        vs_numpy = f"{row['speedup_vs_numpy']:.1f}x" if "speedup_vs_numpy" in row else "-"
        vs_python = f"{row['speedup_vs_python']:.1f}x" if "speedup_vs_python" in row else "-"
        print(f"{label.get(row['backend'], row['backend']):<24}{_format_seconds(row['median_s']):>10}"
              f"{row['ns_per_step']:>11,.1f}{vs_numpy:>11}{vs_python:>11}{row['rounds']:>8}", file=out)


def _version_of(module_name):
    """A module's version, or "not installed" (Numba is optional for the bench: imported here only)."""
    try:
        return importlib.import_module(module_name).__version__
    except ImportError:
        return "not installed"


def _level_note():
    """Which build of the extension runs ("cython v3; CPU levels v2, v3"), or that none does."""
    try:
        level = load_backend("cython").LEVEL
    except ImportError:
        return "cython not available"
    return f"cython {level}; CPU levels {', '.join(cpu_levels())}"


def _bench_names():
    """The backends to time: each available one, and before it each lower level the CPU runs."""
    names = available_backends()
    if "cython" in names:
        best = load_backend("cython").LEVEL
        lower = [level for level in runnable_levels() if level != best]
        index = names.index("cython")
        names[index:index + 1] = ["cython", *(f"cython-{level}" for level in reversed(lower))]
    return names


def _machine_line():
    return (f"tinynet {__version__}, Python {platform.python_version()}, numpy {np.__version__}, "
            f"numba {_version_of('numba')}, {platform.machine()}, {os.cpu_count()} cores, "
            f"{_level_note()}, {time.strftime('%Y-%m-%d')}")


def run_main(repeat=20, max_seconds=5.0, seed=0, out=sys.stdout, progress=True):
    """The README's main job: train the tutorial network on every backend and compare."""
    data, y = tutorial_data()
    names = available_backends()
    params = _start_params(seed)
    print(f"Training the tutorial's network (2 inputs, 2 hidden, 1 output; 4 people x 1000 epochs; "
          f"np.random.seed({seed})) on: {', '.join(names)}", file=out)
    results = {}
    for name in names:
        net = OurNeuralNetwork(backend=name)
        net.params = params
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            net.train(data, y)
        results[name] = (buffer.getvalue(), net.params.tolist(), net.loss_history,
                         net.feedforward(EMILY), net.feedforward(FRANK))
    first = results[names[0]]
    out.write(first[0])
    print(file=out)
    print(f"{'backend':<10}{'Emily':>10}{'Frank':>10}", file=out)
    for name in names:
        emily, frank = results[name][3], results[name][4]
        print(f"{name:<10}{emily:>10.3f}{frank:>10.3f}   (the tutorial: 0.951 F, 0.039 M)", file=out)
    agree = all(result[:3] == first[:3] and result[3] == first[3] and result[4] == first[4]
                for result in results.values())
    print(f"All backends agree bit for bit (lines, weights, losses, predictions): "
          f"{'yes' if agree else 'NO'}", file=out)
    print(file=out)
    print(f"Speed of the tutorial's training (4 x 1000 = 4,000 SGD steps, no loss lines), "
          f"median of up to {repeat} rounds:", file=out)
    rows = _speed_rows([*names, "numpy"], data, y, 1000, repeat, max_seconds, _Progress(progress), seed)
    _print_speed_table(rows, out)
    print(_machine_line(), file=out)
    return 0 if agree else 1


def _compile_times(repeat_cold=1):
    """Seconds for the Numba backend's first use in a fresh process, with an empty and a warm cache."""
    code = ("import time; t0 = time.perf_counter()\n"
            "import numpy as np, tinynet\n"
            "net = tinynet.OurNeuralNetwork(backend='numba')\n"
            "data = np.array([[1.0, 2.0], [3.0, 4.0]]); y = np.array([1.0, 0.0])\n"
            "net.train(data, y, epochs=1, verbose=False); net.predict(data); net.feedforward([1, 2])\n"
            "print(time.perf_counter() - t0)\n")
    base = ("import time; t0 = time.perf_counter()\n"
            "import numpy as np, tinynet, numba\n"
            "print(time.perf_counter() - t0)\n")
    results = {}
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)

        def run(source):
            done = subprocess.run([sys.executable, "-c", source], capture_output=True, text=True,
                                  env=env, check=True, cwd=tempfile.gettempdir())
            return float(done.stdout.split()[-1])

        results["import_numba_s"] = run(base)
        results["first_use_empty_cache_s"] = run(code)
        results["first_use_warm_cache_s"] = run(code)
    return results


def run_bench(args, out=sys.stdout):
    """``python -m tinynet bench``: speed at any size, scaling, compile time; optionally JSON."""
    progress = _Progress(not args.quiet)
    report = {"machine": _machine_line()}
    names = _bench_names()
    if args.numpy:
        names = [*names, "numpy"]
    if args.samples == 4:
        data, y = tutorial_data()
    else:
        data, y = synthetic_data(args.samples, seed=args.seed)
    print(f"Training {args.samples:,} samples x {args.epochs:,} epochs "
          f"({args.samples * args.epochs:,} SGD steps), median of up to {args.repeat} rounds "
          f"(at most ~{args.max_seconds:g} s per backend):", file=out)
    rows = _speed_rows(names, data, y, args.epochs, args.repeat, args.max_seconds, progress, args.seed)
    _print_speed_table(rows, out)
    report["speed"] = rows
    if args.sizes:
        print(file=out)
        print("Scaling: about 1,000,000 SGD steps at each size; a flat ns/step is linear cost in "
              "samples x epochs:", file=out)
        scaling = []
        for n in SIZES:
            epochs = max(1, 1_000_000 // n)
            data, y = synthetic_data(n, seed=args.seed)
            scaling += _speed_rows(available_backends(), data, y, epochs, args.repeat,
                                   args.max_seconds, progress, args.seed)
        print(f"{'samples':>10}{'epochs':>9}" + "".join(f"{name + ' ns/step':>19}"
                                                        for name in available_backends()), file=out)
        for n in SIZES:
            cells = [row for row in scaling if row["samples"] == n]
            print(f"{n:>10,}{cells[0]['epochs']:>9,}"
                  + "".join(f"{row['ns_per_step']:>19,.1f}" for row in cells), file=out)
        report["scaling"] = scaling
    if args.compile and "numba" not in names:
        print(file=out)
        print("Numba: not installed here, so no compile time to measure", file=out)
    elif args.compile:
        progress("timing Numba's first use in fresh processes")
        times = _compile_times()
        progress.done()
        print(file=out)
        print(f"Numba: import {times['import_numba_s']:.2f} s; first use in a new process "
              f"(import + compile or load + first calls): empty cache "
              f"{times['first_use_empty_cache_s']:.2f} s, warm cache "
              f"{times['first_use_warm_cache_s']:.2f} s", file=out)
        report["numba_compile"] = times
    print(report["machine"], file=out)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(report, handle, indent=2)
        print(f"wrote {args.json}", file=out)
    return 0


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _seed(text):
    value = int(text)
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"must be in [0, 2**32), as np.random.seed takes, got {value}")
    return value


def _seconds(text):
    value = float(text)
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def _writable_file(path, what):
    """An error message if ``path`` cannot be written (its folder missing or not a folder), else None:
    checked before the work whose result it is to hold."""
    folder = os.path.dirname(os.path.abspath(path)) or "."
    if not os.path.isdir(folder):
        return f"{what} {path!r}: the folder {folder!r} does not exist"
    if not os.access(folder, os.W_OK):
        return f"{what} {path!r}: the folder {folder!r} is not writable"
    if os.path.isdir(path):
        return f"{what} {path!r} is a folder"
    return None


def main(argv=None):
    """The console script. Errors (bad arguments, an unknown backend or level, a file that cannot be
    written) are one line on stderr and exit status 2, checked before any work; a closed pipe on
    stdout (``tinynet | head -1``) ends it quietly."""
    try:
        return _main(argv)
    except BrokenPipeError:
        # Python would complain again when it flushes stdout at exit: point it at devnull first.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except (ValueError, ImportError, OSError) as exc:
        print(f"tinynet: error: {exc}", file=sys.stderr)
        return 2


def _main(argv):
    parser = argparse.ArgumentParser(
        prog="python -m tinynet",
        description="Train the tutorial's network on every backend and compare results and speed.")
    parser.add_argument("--repeat", type=_positive_int, default=None,
                        help="timing rounds per backend (default 20; bench: 5)")
    parser.add_argument("--seed", type=_seed, default=0, help="np.random.seed for the starting weights")
    parser.add_argument("--quiet", action="store_true", help="no progress line on stderr")
    parser.add_argument("--config", action="store_true",
                        help="say which backends and which build of the extension run here, and stop")
    commands = parser.add_subparsers(dest="command")
    bench = commands.add_parser("bench", help="training speed at any size",
                                description="Training speed of every backend at any size.")
    bench.add_argument("--samples", type=_positive_int, default=4,
                       help="samples (default 4: the tutorial's; more are synthetic)")
    bench.add_argument("--epochs", type=_positive_int, default=1000, help="epochs (default 1000)")
    bench.add_argument("--repeat", type=_positive_int, default=argparse.SUPPRESS,
                       help="timing rounds per backend (default 5)")
    bench.add_argument("--max-seconds", type=_seconds, default=10.0,
                       help="stop a backend's rounds after about this long (default 10)")
    bench.add_argument("--seed", type=_seed, default=argparse.SUPPRESS,
                       help="seed of the weights and synthetic data")
    bench.add_argument("--no-numpy", dest="numpy", action="store_false",
                       help="leave out the tutorial-style numpy baseline (slow at large sizes)")
    bench.add_argument("--sizes", action="store_true",
                       help="also a scaling table over n = 4 ... 1,000,000 samples")
    bench.add_argument("--compile", action="store_true",
                       help="also Numba's compile time in fresh processes (empty and warm cache)")
    bench.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    bench.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS,
                       help="no progress line on stderr")
    plot = commands.add_parser("plot", help="draw the trained tutorial network (needs matplotlib)",
                               description="Train the tutorial's network and draw its decision "
                                           "regions and loss curve.")
    plot.add_argument("--out", required=True, metavar="FILE.png", help="the picture to write")
    plot.add_argument("--seed", type=_seed, default=argparse.SUPPRESS,
                      help="np.random.seed for the starting weights")
    args = parser.parse_args(argv)
    # The backends (and $TINYNET_BACKEND, $TINYNET_CPU) are checked before any work.
    available_backends()
    resolve_backend()
    if args.config:
        print(show_config())
        return 0
    if args.command == "bench":
        if args.repeat is None:
            args.repeat = 5
        if args.json is not None and (problem := _writable_file(args.json, "--json")):
            parser.error(problem)
        return run_bench(args)
    if args.command == "plot":
        if problem := _writable_file(args.out, "--out"):
            parser.error(problem)
        from .plot import tutorial_figure  # needs matplotlib: imported only for this command

        extension = os.path.splitext(args.out)[1].lstrip(".").lower()
        kinds = _picture_kinds()
        if extension not in kinds:
            parser.error(f"--out {args.out!r}: matplotlib writes {', '.join(sorted(kinds))}, "
                         f"not {extension or 'a file without an extension'!r}")
        tutorial_figure(seed=args.seed).savefig(args.out, dpi=110)
        print(f"wrote {args.out}")
        return 0
    return run_main(repeat=20 if args.repeat is None else args.repeat, seed=args.seed,
                    progress=not args.quiet)


def _picture_kinds():
    """The file extensions matplotlib can write here."""
    from matplotlib.figure import Figure

    return set(Figure().canvas.get_supported_filetypes())
