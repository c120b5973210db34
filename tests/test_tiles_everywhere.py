"""The register tiles (tinynet/_tiles.h), of doubles and of floats, give the same bits at every
instruction-set level, in their plain-C loops, and on aarch64 NEON: tests/tiles_harness.c runs every
tile function on fixed inputs at every shape that takes another path, built for each, and each build
must print the same lines.

The aarch64 build is cross-compiled (Debian's gcc-aarch64-linux-gnu) and run under qemu-user; where
those are not installed its test skips, saying so (``.ci/run`` installs them where it can).
"""

import pathlib
import shutil
import subprocess
import sysconfig

import pytest

from tinynet._backend import cpu_levels

REPO = pathlib.Path(__file__).resolve().parents[1]
HARNESS = REPO / "tests" / "tiles_harness.c"
TILES = REPO / "tinynet" / "_tiles.h"
#: The extension's numeric flags (setup.py's UNIX_FLAGS) and an optimisation level.
FLAGS = ["-O2", "-std=gnu11", "-ffp-contract=off", "-fno-fast-math", "-fno-math-errno", "-Wall", "-Werror"]
X86 = sysconfig.get_platform().endswith("x86_64")
CC = (sysconfig.get_config_var("CC") or "cc").split()[0]
CROSS, QEMU = "aarch64-linux-gnu-gcc", "qemu-aarch64"

pytestmark = pytest.mark.skipif(not TILES.exists(), reason="needs the source tree's tinynet/_tiles.h")


def _output(tmp_path, name, compiler, flags, runner=()):
    binary = tmp_path / name
    subprocess.run([compiler, *FLAGS, *flags, f"-I{TILES.parent}", str(HARNESS), "-o", str(binary), "-lm"],
                   check=True, capture_output=True, text=True)
    done = subprocess.run([*runner, str(binary)], check=True, capture_output=True, text=True, timeout=600)
    return done.stdout


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    """The plain loops' output, built for this machine's baseline: what every build must print."""
    if shutil.which(CC) is None:
        pytest.skip(f"no C compiler ({CC})")
    return _output(tmp_path_factory.mktemp("tiles"), "scalar", CC, ["-DTINYNET_SCALAR_TILES"])


def test_the_harness_covers_every_case(host):
    lines = host.splitlines()
    names = {line.split()[0] for line in lines}
    functions = {"sums", "sums4", "grad", "back", "descend", "momentum", "update_sums", "squares", "update",
                 "update_outer", "back_t", "descend_t", "momentum_t"}
    assert names == functions | {name + "32" for name in functions}       # of doubles and of floats
    assert len(lines) == len({line.rsplit(" ", 1)[0] for line in lines}) > 4000


@pytest.mark.parametrize("level", ["base", "v2", "v3", "v4"])
def test_each_x86_level_gives_the_bits_of_the_plain_loops(tmp_path, host, level):
    if not X86:
        pytest.skip("an x86-64 level")
    if level != "base" and level not in cpu_levels():
        pytest.skip(f"this CPU cannot run x86-64-{level} (it runs {', '.join(cpu_levels())})")
    flags = [] if level == "base" else [f"-march=x86-64-{level}"]
    assert _output(tmp_path, level, CC, flags) == host


def test_the_avx512_shapes_give_the_bits_of_the_plain_loops(tmp_path, host):
    """AVX-512's tiles (8 doubles a vector, its tile shapes and transposes) on any x86-64 machine: GCC
    and Clang carry a vector wider than the registers out in pieces, so that the logic of the v4 variant
    is checked where no AVX-512 runs it (its code itself only where one does, above)."""
    if not X86:
        pytest.skip("an x86-64 build")
    flags = ["-DTINYNET_WIDE_TILES", "-Wno-psabi"] + (["-march=x86-64-v3"] if "v3" in cpu_levels() else [])
    assert _output(tmp_path, "wide", CC, flags) == host


def test_fetching_ahead_gives_the_same_bits(tmp_path, host):
    """The updates of layers too large for L2 fetch their next rows ahead (TN_PREFETCH_BYTES): every
    layer of the harness is small, so a build with the threshold at 0 runs that path everywhere."""
    flags = ["-DTN_PREFETCH_BYTES=0"] + (["-march=x86-64-v3"] if X86 and "v3" in cpu_levels() else [])
    assert _output(tmp_path, "prefetch", CC, flags) == host


@pytest.mark.parametrize("tiles", ["neon", "plain"])
def test_aarch64_gives_the_same_bits(tmp_path, host, tiles):
    missing = [tool for tool in (CROSS, QEMU) if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed (Debian: apt-get install gcc-aarch64-linux-gnu "
                    "qemu-user)")
    flags = ["-static"] + (["-DTINYNET_SCALAR_TILES"] if tiles == "plain" else [])
    output = _output(tmp_path, f"aarch64-{tiles}", CROSS, flags, runner=[QEMU])
    assert output == host
    if tiles == "neon":             # it did use NEON's vectors, and fused nothing
        disassembly = subprocess.run(["aarch64-linux-gnu-objdump", "-d", str(tmp_path / "aarch64-neon")],
                                     capture_output=True, text=True, check=True).stdout
        assert "fmul\tv" in disassembly and "fadd\tv" in disassembly
        assert "fmla" not in disassembly and "fmadd" not in disassembly
