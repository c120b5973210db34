"""The console script: bad arguments and environments are one error line (no traceback) before any
work, top-level options hold for the commands, and a closed pipe ends it quietly."""

import json
import os
import subprocess
import sys

import pytest

from tinynet._cli import main


def _tinynet(*args, env=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "tinynet", *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})}, cwd=cwd)


@pytest.mark.parametrize("args, message", [
    (["--seed", "-1"], "argument --seed: must be in [0, 2**32)"),
    (["--repeat", "0"], "argument --repeat: must be at least 1, got 0"),
    (["bench", "--max-seconds", "nan"], "argument --max-seconds: must be a positive number of seconds"),
    (["bench", "--epochs", "0"], "argument --epochs: must be at least 1, got 0"),
    (["bench", "--json", "/nonexistent-dir/x.json"], "--json '/nonexistent-dir/x.json': the folder"),
    (["plot", "--out", "/nonexistent-dir/x.png"], "--out '/nonexistent-dir/x.png': the folder"),
])
def test_bad_arguments_are_one_error_before_any_work(tmp_path, args, message):
    done = _tinynet(*args, cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and message in done.stderr
    assert done.stdout == ""                     # nothing was trained or timed


def test_an_unknown_picture_kind_is_refused_before_training(tmp_path):
    done = _tinynet("plot", "--out", str(tmp_path / "x.foo"), cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "matplotlib writes" in done.stderr and "png" in done.stderr and "not 'foo'" in done.stderr
    assert not (tmp_path / "x.foo").exists()


@pytest.mark.parametrize("env, message", [({"TINYNET_BACKEND": "bogus"}, "unknown backend 'bogus'"),
                                          ({"TINYNET_CPU": "v9"}, "unknown level 'v9'")])
def test_a_bad_environment_is_one_error_line(tmp_path, env, message):
    done = _tinynet(env=env, cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("tinynet: error: ") and message in done.stderr
    assert len(done.stderr.splitlines()) == 1


def test_a_closed_pipe_ends_quietly(tmp_path):
    reader = subprocess.Popen([sys.executable, "-m", "tinynet", "--quiet", "--repeat", "1"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    first = reader.stdout.readline()
    reader.stdout.close()                        # as `tinynet | head -1` does
    _, err = reader.communicate(timeout=300)
    assert first.startswith(b"Training the tutorial's network")
    assert b"Traceback" not in err and b"BrokenPipeError" not in err


def test_top_level_options_hold_for_bench(tmp_path):
    out = tmp_path / "bench.json"
    assert main(["--repeat", "2", "--seed", "3", "--quiet", "bench", "--epochs", "5", "--no-numpy",
                 "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert {row["rounds"] for row in report["speed"]} == {2}       # not bench's own default, 5


def test_config_names_the_loaded_build(capsys):
    assert main(["--config"]) == 0
    out = capsys.readouterr().out
    assert "backend cython: tinynet._core_" in out and "CPU levels:" in out
