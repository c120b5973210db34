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
