"""ONNX export: graphs of a forward pass (``pip install 'tinynet[onnx]'``), float64, or float32 for a
float32 ``Network``.

A ``Network``'s graph takes ``X`` (of its dtype, shape (n, sizes[0])) and gives ``Y`` (likewise, shape
(n, n_out)), the network's :meth:`~tinynet.Network.predict` as a 2-D array. A ``tinynet.sklearn``
estimator's gives what its ``predict`` gives (a classifier's ``label`` and ``probabilities``, a
regressor's ``variable``). Either way each layer is a ``Gemm`` (``X @ W.T + b``, the weights stored row
per neuron, with ``transB=1``), then its activation: the nodes the table of ``_rules.py`` gives
(``Sigmoid``, ``Tanh``, ``Relu``, ``Exp``; leaky_relu as ``Max(x, 0.01 * x)``, its slope a constant
of the graph's type), ``Softmax`` over the last axis, or nothing for ``identity``. Runtimes sum the
products in their own order and use their own ``exp``, so their outputs agree with tinynet's to within a
few units in the last place, not bit for bit.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._codes import EXP
from ._rules import ACTIVATIONS

__all__ = ["OPSET", "estimator_to_onnx", "network_to_onnx"]

#: The ONNX operator set the graph uses (Relu on float64 needs 14; Softmax over one axis, 13).
OPSET = 17

#: Each elementwise activation as ONNX nodes (see _rules.Activation), by the names of tinynet's Network
#: (the table of _rules.py) and of scikit-learn's MLP.
_RECIPES = {row.name: row.onnx for row in ACTIVATIONS if row.name is not None}
_RECIPES.update({"logistic": _RECIPES["sigmoid"],
                 "exp": next(row.onnx for row in ACTIVATIONS if row.code == EXP)})


def _activation(helper: Any, numpy_helper: Any, code: str, current: str, out: str,
                name: str, dtype: Any = np.float64) -> tuple[list[Any], list[Any]]:
    """The nodes (and constants, of ``dtype``) of activation ``code`` from ``current`` to ``out``."""
    if code == "softmax":
        node = helper.make_node("Softmax", [current], [out], name=name)
        node.attribute.append(helper.make_attribute("axis", -1))
        return [node], []
    recipe = _RECIPES[code]
    nodes: list[Any] = []
    constants: list[Any] = []
    outputs: list[str] = []
    for k, (operator, inputs) in enumerate(recipe):
        names = []
        for item in inputs:
            if item == "x":
                names.append(current)
            elif isinstance(item, int):
                names.append(outputs[item])
            else:                                       # a constant
                names.append(f"{name}_c{k}_{len(names)}")
                constants.append(numpy_helper.from_array(np.array(item, dtype=dtype), names[-1]))
        last = k == len(recipe) - 1
        outputs.append(out if last else f"{name}_t{k}")
        nodes.append(helper.make_node(operator, names, [outputs[-1]],
                                      name=name if len(recipe) == 1 else f"{name}_{k}"))
    return nodes, constants


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise ImportError("to_onnx needs the onnx package: pip install 'tinynet[onnx]' "
                          "(or pip install onnx)") from None
    return onnx


def _layers(weights: Sequence[NDArray[Any]], biases: Sequence[NDArray[Any]], activation: str, output: str,
            result: str, dtype: Any = np.float64) -> tuple[list[Any], list[Any]]:
    """The nodes and initializers (of ``dtype``) of a forward pass from ``X`` to ``result``: weights
    (n_out, n_in) and biases per layer, the hidden layers' activation and the output layer's."""
    from onnx import helper, numpy_helper

    nodes, initializers = [], []
    current = "X"
    for layer, (w, b) in enumerate(zip(weights, biases)):
        last = layer == len(weights) - 1
        code = output if last else activation
        w_name, b_name = f"W{layer}", f"b{layer}"
        initializers.append(numpy_helper.from_array(np.array(w, dtype=dtype), w_name))
        initializers.append(numpy_helper.from_array(np.array(b, dtype=dtype), b_name))
        out = result if last and code == "identity" else f"S{layer}"
        nodes.append(helper.make_node("Gemm", [current, w_name, b_name], [out], transB=1,
                                      name=f"layer{layer}"))
        current = out
        if code != "identity":
            out = result if last else f"A{layer}"
            more, constants = _activation(helper, numpy_helper, code, current, out, f"{code}{layer}", dtype)
            nodes += more
            initializers += constants
            current = out
    return nodes, initializers


def _model(nodes: list[Any], initializers: list[Any], n_in: int, outputs: list[Any], name: str, doc: str,
           path: str | os.PathLike[str] | None, elem_type: int | None = None) -> Any:
    """The checked model of a graph taking ``X`` (float64, or ``elem_type``, (n, n_in)); also saved to
    ``path`` if given."""
    onnx = _onnx()
    from onnx import TensorProto, helper

    inputs = [helper.make_tensor_value_info("X", TensorProto.DOUBLE if elem_type is None else elem_type,
                                            [None, n_in])]
    graph = helper.make_graph(nodes, name, inputs, outputs, initializers)
    opsets = [helper.make_opsetid("", OPSET)]
    # The lowest IR version the opset needs (onnx writes its own newest by default, which older
    # runtimes refuse: onnxruntime 1.23 reads IR versions up to 11), as skl2onnx does.
    model = helper.make_model(graph, opset_imports=opsets, producer_name="tinynet",
                              ir_version=helper.find_min_ir_version_for(opsets))
    model.doc_string = doc
    onnx.checker.check_model(model)
    if path is not None:
        onnx.save(model, os.fspath(path))
    return model


def network_to_onnx(net: Any, path: str | os.PathLike[str] | None = None) -> Any:
    """The ONNX model (``onnx.ModelProto``) of ``net``'s forward pass; also written to ``path`` if given.

    See :meth:`tinynet.Network.to_onnx`.
    """
    _onnx()
    from onnx import TensorProto, helper

    elem_type = TensorProto.FLOAT if net.dtype == np.float32 else TensorProto.DOUBLE
    nodes, initializers = _layers(net.weights, net.biases, net.activation, net.output, "Y", net.dtype)
    outputs = [helper.make_tensor_value_info("Y", elem_type, [None, net.sizes[-1]])]
    return _model(nodes, initializers, net.sizes[0], outputs, "tinynet_network", repr(net), path, elem_type)


def estimator_to_onnx(model: Any, path: str | os.PathLike[str] | None = None) -> Any:
    """The ONNX model of a fitted ``tinynet.sklearn`` estimator's predictions; also written to ``path``.

    See ``tinynet.sklearn.MLPClassifier.to_onnx``.
    """
    _onnx()
    from onnx import TensorProto, helper, numpy_helper

    weights = [coef.T for coef in model.coefs_]
    n_out = model.n_outputs_
    classifier = hasattr(model, "classes_")
    scores = "P" if classifier else ("Y" if n_out > 1 else "Y2")
    nodes, initializers = _layers(weights, model.intercepts_, model.activation, model.out_activation_, scores)
    if not classifier:
        if n_out == 1:
            # predict's (n,) for one output
            initializers.append(numpy_helper.from_array(np.array([-1], dtype=np.int64), "flat_shape"))
            nodes.append(helper.make_node("Reshape", ["Y2", "flat_shape"], ["variable"], name="ravel"))
        else:
            nodes.append(helper.make_node("Identity", ["Y"], ["variable"], name="variable"))
        shape = [None] if n_out == 1 else [None, n_out]
        outputs = [helper.make_tensor_value_info("variable", TensorProto.DOUBLE, shape)]
        return _model(nodes, initializers, model.n_features_in_, outputs, "tinynet_mlp_regressor",
                      repr(model), path)

    classes = np.asarray(model.classes_)
    multilabel = model._label_binarizer.y_type_ == "multilabel-indicator"
    if multilabel:
        # predict: P > 0.5 as int64; predict_proba: P
        initializers.append(numpy_helper.from_array(np.array(0.5), "half"))
        nodes += [helper.make_node("Greater", ["P", "half"], ["above"], name="threshold"),
                  helper.make_node("Cast", ["above"], ["label"], to=TensorProto.INT64, name="indicator"),
                  helper.make_node("Identity", ["P"], ["probabilities"], name="probabilities")]
        label_type, label_shape = TensorProto.INT64, [None, len(classes)]
    else:
        if model.out_activation_ == "logistic":
            # binary: probabilities [1 - p, p]; the label classes_[1] where p > 0.5, which is where
            # p > 1 - p (exact for p in [1/4, 1])
            initializers.append(numpy_helper.from_array(np.array([1.0]), "one"))
            nodes += [helper.make_node("Sub", ["one", "P"], ["Q"], name="complement"),
                      helper.make_node("Concat", ["Q", "P"], ["probabilities"], axis=1, name="probabilities")]
        else:
            nodes.append(helper.make_node("Identity", ["P"], ["probabilities"], name="probabilities"))
        if classes.dtype.kind == "b":
            table, label_type = classes, TensorProto.BOOL
        elif classes.dtype.kind in "iu":
            table, label_type = classes.astype(np.int64), TensorProto.INT64
        elif classes.dtype.kind == "f":
            table, label_type = classes.astype(np.float64), TensorProto.DOUBLE
        else:
            table, label_type = classes.astype(str).astype(object), TensorProto.STRING
        if len(table) == 1:
            # a one-class model: probabilities [1 - p, p], always classes_[0]
            table = np.concatenate([table, table])
        initializers.append(numpy_helper.from_array(table, "classes"))
        nodes += [helper.make_node("ArgMax", ["probabilities"], ["index"], axis=1, keepdims=0, name="argmax"),
                  helper.make_node("Gather", ["classes", "index"], ["label"], axis=0, name="label")]
        label_shape = [None]
    n_probabilities = len(classes) if multilabel or model.out_activation_ == "softmax" else 2
    outputs = [helper.make_tensor_value_info("label", label_type, label_shape),
               helper.make_tensor_value_info("probabilities", TensorProto.DOUBLE, [None, n_probabilities])]
    return _model(nodes, initializers, model.n_features_in_, outputs, "tinynet_mlp_classifier", repr(model),
                  path)
