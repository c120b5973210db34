"""ONNX export of a ``Network``: a float64 graph of its forward pass (``pip install 'tinynet[onnx]'``).

The graph takes ``X`` (float64, shape (n, sizes[0])) and gives ``Y`` (float64, shape (n, n_out)), the
network's :meth:`~tinynet.Network.predict` as a 2-D array: for each layer a ``Gemm`` (``X @ W.T + b``,
the weights stored as tinynet holds them, row per neuron, with ``transB=1``), then the activation
(``Sigmoid``, ``Tanh``, ``Relu``, ``Softmax`` over the last axis, or nothing for ``identity``).
Runtimes sum the products in their own order and use their own ``exp``, so their outputs agree with
tinynet's to within a few units in the last place, not bit for bit.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

__all__ = ["OPSET", "network_to_onnx"]

#: The ONNX operator set the graph uses (Relu on float64 needs 14; Softmax over one axis, 13).
OPSET = 17

_ACTIVATIONS = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu", "softmax": "Softmax"}


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise ImportError("to_onnx needs the onnx package: pip install 'tinynet[onnx]' "
                          "(or pip install onnx)") from None
    return onnx


def network_to_onnx(net: Any, path: str | os.PathLike[str] | None = None) -> Any:
    """The ONNX model (``onnx.ModelProto``) of ``net``'s forward pass; also written to ``path`` if given.

    See :meth:`tinynet.Network.to_onnx`.
    """
    onnx = _onnx()
    from onnx import TensorProto, helper, numpy_helper

    nodes, initializers = [], []
    current = "X"
    n_layers = len(net.weights)
    for layer, (weights, biases) in enumerate(zip(net.weights, net.biases)):
        last = layer == n_layers - 1
        code = net.output if last else net.activation
        w_name, b_name, sums = f"W{layer}", f"b{layer}", f"S{layer}"
        initializers.append(numpy_helper.from_array(np.array(weights, dtype=np.float64), w_name))
        initializers.append(numpy_helper.from_array(np.array(biases, dtype=np.float64), b_name))
        out = "Y" if last and code == "identity" else sums
        nodes.append(helper.make_node("Gemm", [current, w_name, b_name], [out], transB=1,
                                      name=f"layer{layer}"))
        current = out
        if code != "identity":
            out = "Y" if last else f"A{layer}"
            node = helper.make_node(_ACTIVATIONS[code], [current], [out], name=f"{code}{layer}")
            if code == "softmax":
                node.attribute.append(helper.make_attribute("axis", -1))
            nodes.append(node)
            current = out
    inputs = [helper.make_tensor_value_info("X", TensorProto.DOUBLE, [None, net.sizes[0]])]
    outputs = [helper.make_tensor_value_info("Y", TensorProto.DOUBLE, [None, net.sizes[-1]])]
    graph = helper.make_graph(nodes, "tinynet_network", inputs, outputs, initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="tinynet")
    model.doc_string = repr(net)
    onnx.checker.check_model(model)
    if path is not None:
        onnx.save(model, os.fspath(path))
    return model
