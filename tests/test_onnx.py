"""to_onnx of Network and of tinynet.sklearn's estimators: float64 ONNX graphs, run by onnxruntime."""

import sys
import warnings

import numpy as np
import pytest

from tinynet import Network

CONFIGS = [
    dict(sizes=(4, 16, 3), activation="relu", output="softmax", loss="cross_entropy"),
    dict(sizes=(4, 8, 8, 2), activation="tanh", output="sigmoid", loss="cross_entropy"),
    dict(sizes=(4, 5, 1), activation="sigmoid", output="identity"),
    dict(sizes=(4, 2), activation="relu", output="sigmoid"),
    dict(sizes=(2, 2, 1)),
] + [dict(sizes=(4, 6, 2), activation=name, output="identity") for name in Network.ACTIVATIONS]


@pytest.mark.parametrize("config", CONFIGS,
                         ids=lambda c: "-".join(map(str, c["sizes"])) + f"-{c.get('activation', 'sigmoid')}")
def test_onnxruntime_gives_the_predictions(config, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    net = Network(seed=1, **config)
    X = np.random.default_rng(0).normal(scale=2.0, size=(200, config["sizes"][0]))
    Y = net.predict(X).reshape(len(X), -1)
    net.to_onnx(tmp_path / "net.onnx")
    session = ort.InferenceSession(str(tmp_path / "net.onnx"), providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {"X": X})
    assert out.dtype == np.float64 and out.shape == Y.shape
    np.testing.assert_allclose(out, Y, rtol=1e-12, atol=1e-14)
    assert not np.allclose(out, Network(seed=2, **config).predict(X).reshape(len(X), -1))


def test_the_model_has_the_lowest_ir_version_its_opset_needs():
    """So that the runtimes users have load it: onnx writes its own newest IR version by default (14
    with onnx 1.20), which onnxruntime 1.23, the newest for Python 3.10, refuses (it reads up to 11)."""
    onnx = pytest.importorskip("onnx")
    from tinynet._onnx import OPSET

    model = Network((3, 4, 2), seed=0).to_onnx()
    assert [(opset.domain, opset.version) for opset in model.opset_import] == [("", OPSET)]
    assert model.ir_version == onnx.helper.find_min_ir_version_for(list(model.opset_import)) == 8


def test_the_model_is_checked_and_describes_the_network():
    onnx = pytest.importorskip("onnx")
    net = Network((3, 4, 2), activation="tanh", output="softmax", loss="cross_entropy", seed=0)
    model = net.to_onnx()
    onnx.checker.check_model(model)
    assert [node.op_type for node in model.graph.node] == ["Gemm", "Tanh", "Gemm", "Softmax"]
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    weights = {tensor.name: onnx.numpy_helper.to_array(tensor) for tensor in model.graph.initializer}
    assert weights["W0"].tobytes() == net.weights[0].tobytes()        # the weights exactly
    assert "Network((3, 4, 2)" in model.doc_string


def test_without_onnx_a_clear_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"pip install 'tinynet\[onnx\]'"):
        Network((2, 3, 1), seed=0).to_onnx()


def _estimator_cases():
    X = np.random.default_rng(0).normal(size=(120, 5))
    score = X[:, 0] + X[:, 1] * X[:, 2]
    return {
        "multiclass-int": ("MLPClassifier", X, np.digitize(score, [-1, 0, 1]), dict(activation="tanh")),
        "binary-str": ("MLPClassifier", X, np.where(score > 0, "yes", "no"), dict(activation="logistic")),
        "binary-bool": ("MLPClassifier", X, score > 0, dict(activation="relu")),
        "multilabel": ("MLPClassifier", X, np.column_stack([score > 0, X[:, 3] > 0]).astype(int),
                       dict(activation="identity")),
        "regressor-1": ("MLPRegressor", X, score, dict(hidden_layer_sizes=(8, 4))),
        "regressor-2": ("MLPRegressor", X, np.column_stack([score, X[:, 4]]), dict()),
        "poisson": ("MLPRegressor", X, np.exp(score / 3), dict(loss="poisson")),
    }


@pytest.mark.parametrize("case", list(_estimator_cases()))
def test_onnxruntime_gives_the_estimators_predictions(case, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    tn_sklearn = pytest.importorskip("tinynet.sklearn")
    kind, X, y, params = _estimator_cases()[case]
    model = getattr(tn_sklearn, kind)(hidden_layer_sizes=params.pop("hidden_layer_sizes", (7,)), max_iter=60,
                                      learning_rate_init=0.02, random_state=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    model.to_onnx(tmp_path / "model.onnx")
    session = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    X_new = np.random.default_rng(1).normal(scale=2.0, size=(300, 5))
    outputs = dict(zip(names, session.run(None, {"X": X_new})))
    if kind == "MLPRegressor":
        assert names == ["variable"]
        expected = model.predict(X_new)
        assert outputs["variable"].shape == expected.shape
        np.testing.assert_allclose(outputs["variable"], expected, rtol=1e-12, atol=1e-14)
    else:
        assert names == ["label", "probabilities"]
        expected = model.predict_proba(X_new)
        assert outputs["probabilities"].shape == expected.shape
        np.testing.assert_allclose(outputs["probabilities"], expected, rtol=1e-12, atol=1e-14)
        labels = model.predict(X_new)
        assert len(np.unique(labels)) > 1                      # not a constant prediction
        assert np.array_equal(outputs["label"], labels)


def test_an_unfitted_estimator_has_no_graph():
    tn_sklearn = pytest.importorskip("tinynet.sklearn")
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        tn_sklearn.MLPClassifier().to_onnx()
