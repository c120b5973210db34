"""Network.to_onnx: the forward pass as a float64 ONNX graph, run by onnxruntime."""

import sys

import numpy as np
import pytest

from tinynet import Network

CONFIGS = [
    dict(sizes=(4, 16, 3), activation="relu", output="softmax", loss="cross_entropy"),
    dict(sizes=(4, 8, 8, 2), activation="tanh", output="sigmoid", loss="cross_entropy"),
    dict(sizes=(4, 5, 1), activation="sigmoid", output="identity"),
    dict(sizes=(4, 2), activation="relu", output="sigmoid"),
    dict(sizes=(2, 2, 1)),
]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(map(str, c["sizes"])))
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
