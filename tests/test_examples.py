"""The examples run and say what they claim."""

import pathlib
import sys

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"


def test_digits_example_against_scikit_learn(capsys):
    pytest.importorskip("sklearn")
    sys.path.insert(0, str(EXAMPLES))
    try:
        import digits
    finally:
        sys.path.remove(str(EXAMPLES))
    results = digits.main(["--epochs", "5"])
    accuracy, _ = results["tinynet"]
    sklearn_accuracy, _ = results["scikit-learn"]
    assert accuracy > 0.9 and abs(accuracy - sklearn_accuracy) < 0.05   # comparable accuracy
    assert "tinynet trains" in capsys.readouterr().out


def test_sweep_example_keeps_each_networks_best_epoch(tmp_path, capsys):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    sys.path.insert(0, str(EXAMPLES))
    try:
        import sweep
    finally:
        sys.path.remove(str(EXAMPLES))
    path = tmp_path / "curves.png"
    results = sweep.main(["--seeds", "2", "--rates", "1e-3", "3e-2", "--epochs", "15", "--patience", "3",
                          "--plot", str(path)])
    _, validation, _ = sweep.load()
    assert results["grid"] == [(0, 1e-3), (0, 3e-2), (1, 1e-3), (1, 3e-2)]
    for net, record in zip(results["nets"], results["summary"]):
        assert [epoch for epoch, _ in net.validation_history] == list(range(record.epochs))
        # restore_best: the network ends with its best epoch's weights
        assert net.loss(*validation) == record.best_loss == min(loss for _, loss in net.validation_history)
    assert results["accuracy"] > 0.85
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "4 networks (2 seeds x 2 learning rates)" in capsys.readouterr().out
