"""The README's examples run and show what the README says they show."""

import contextlib
import doctest
import io
import os
import pathlib
import re

import numpy as np
import pytest

try:
    import matplotlib
except ImportError:       # the plot extra is not installed: its example is skipped, the rest run
    matplotlib = None
else:
    matplotlib.use("Agg")

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


@pytest.fixture(scope="module")
def readme_run(tmp_path_factory):
    """Run the README's Python examples in order, in one namespace, as a reader would."""
    namespace = {"doctest_results": [], "readme_dir": tmp_path_factory.mktemp("readme")}
    out = io.StringIO()
    cwd = os.getcwd()
    os.chdir(namespace["readme_dir"])   # where the examples write their files
    try:
        with contextlib.redirect_stdout(out):
            for block in _python_blocks():
                if block.lstrip().startswith(">>>"):
                    test = doctest.DocTestParser().get_doctest(block, namespace, "README", str(README), 0)
                    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
                    runner.run(test, out=out.write)
                    namespace["doctest_results"].append(runner.summarize(verbose=False))
                elif "from tinynet import plot" in block and matplotlib is None:
                    continue
                else:
                    exec(compile(block, str(README), "exec"), namespace)
    finally:
        os.chdir(cwd)
    return namespace, out.getvalue()


def test_tutorial_example_prints_what_the_readme_says(readme_run):
    _, text = readme_run
    lines = text.splitlines()
    assert lines[0] == "Epoch 0 loss: 0.352"
    assert lines[99] == "Epoch 990 loss: 0.002"
    assert lines[100:102] == ["Emily: 0.946", "Frank: 0.040"]


def test_loss_history_example(readme_run):
    namespace, _ = readme_run
    assert namespace["epoch"] == 990 and namespace["loss"] < 0.005
    prediction = namespace["net"].predict([[-7, -3], [20, 2]])
    assert prediction[0] > 0.95 and prediction[1] < 0.05


def test_save_and_many_examples(readme_run):
    namespace, _ = readme_run
    assert len(namespace["nets"]) == 64
    assert all(len(net.loss_history) == 100 for net in namespace["nets"])
    assert namespace["best"].loss_history[-1][1] == min(n.loss_history[-1][1] for n in namespace["nets"])


def test_many_networks_example(readme_run):
    namespace, _ = readme_run
    sweep = namespace["sweep"]
    alone = namespace["Network"]((2, 16, 16, 1), seed=40)
    alone.train(namespace["data"], namespace["all_y_trues"], learn_rate=np.geomspace(0.01, 1.0, 64)[40],
                epochs=100)
    assert sweep[40].params.tobytes() == alone.params.tobytes()
    assert sweep[40].loss_history == alone.loss_history
    assert sweep[0].params.tobytes() != sweep[1].params.tobytes()


def test_network_example(readme_run):
    namespace, _ = readme_run
    assert namespace["mlp"].optimizer_state["optimizer"] == "adam"
    assert namespace["mlp"].optimizer_state["t"] == 140          # 7 batches of 32 (of 200 rows) x 20
    assert namespace["accuracy"] > 0.95                 # the README says about 0.97
    assert namespace["mlp"].weights[0].shape == (16, 4)


def test_sklearn_example(readme_run):
    namespace, text = readme_run
    clf, theirs = namespace["clf"], namespace["theirs"]
    assert type(clf).__module__ == "tinynet.sklearn" and isinstance(clf, type(theirs))
    assert clf.n_iter_ == theirs.n_iter_ and namespace["difference"] < 1e-12
    assert "102 102 0.978\nTrue\n" in text          # the lines the README shows


def test_plot_example(readme_run):
    if matplotlib is None:
        pytest.skip("the README's plot example needs matplotlib (pip install '.[plot]')")
    assert os.path.getsize(readme_run[0]["readme_dir"] / "boundary.png") > 10_000
    assert os.path.getsize(readme_run[0]["readme_dir"] / "loss.png") > 10_000


def test_readme_picture_exists():
    text = README.read_text()
    assert "![" in text and (README.parent / "docs" / "tutorial.png").stat().st_size > 20_000


def test_doctest_examples(readme_run):
    """Every ``>>>`` block of the README (the error examples, the optimizers on digits) ran, each of its
    examples printing what the README shows."""
    namespace, _ = readme_run
    results = namespace["doctest_results"]
    blocks = [block for block in _python_blocks() if block.lstrip().startswith(">>>")]
    assert len(results) == len(blocks) >= 3
    assert [r.attempted for r in results] == [block.count(">>> ") for block in blocks]
    assert all(r.failed == 0 for r in results)


def test_readme_commands_are_the_ci_commands():
    """The README's two commands are what .ci/run runs."""
    text = README.read_text()
    ci = (README.parent / ".ci" / "run").read_text()
    assert '.venv/bin/pip install ".[test]" && .venv/bin/pytest' in text
    assert '.venv/bin/pip install ".[test]"\n.venv/bin/pytest\n' in ci
    assert "python3 -m venv .venv && .venv/bin/pip install . && .venv/bin/tinynet" in text


def test_sweep_example(readme_run):
    """The sweep stops each network on its own: every record agrees with its network's histories."""
    namespace, text = readme_run
    summary, nets = namespace["summary"], namespace["sweep_nets"]
    assert len(summary) == len(nets) == 6
    for net, record in zip(nets, summary):
        assert len(net.validation_history) == record.epochs <= 40
        assert record.best_loss == min(loss for _, loss in net.validation_history)
        assert record.stopped == ("patience" if record.epochs < 40 else "completed")
    assert any(record.stopped == "patience" for record in summary)
    printed = [line.split() for line in text.splitlines() if line.startswith(("0 0.0", "1 0.0"))]
    assert [(int(words[2]), words[3]) for words in printed] == [(r.epochs, r.stopped) for r in summary]
