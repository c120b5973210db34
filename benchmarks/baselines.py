"""What a user would otherwise train the tutorial network with, for the benchmarks' comparisons.

Each ``make_*`` returns ``train(params, data, y, epochs) -> list of 9 floats`` (plain per-sample SGD,
learning rate 0.1, the tutorial's loss), or raises ``pytest.skip`` when its library is not installed.
"""

import ctypes
import itertools
import os
import pathlib
import shutil
import subprocess
import sysconfig
import tempfile
import warnings

import numpy as np
import pytest

from tinynet import _codes, _rules
from tinynet._baseline import train_numpy

__all__ = ["make_jax", "make_jax_many", "make_numpy", "make_plain_c", "make_torch"]

LEARN_RATE = 0.1
_C_SOURCE = pathlib.Path(__file__).with_name("c_loop.c")


def make_numpy():
    """The tutorial's own code: numpy scalars and np.exp (tinynet._baseline)."""
    def train(params, data, y, epochs):
        return [float(p) for p in train_numpy(params, data, y, LEARN_RATE, epochs)]
    return train


def _data_header():
    """tn_data.h: tinynet's exp constants and table (tinynet._exp_data) and the activation and loss
    codes (tinynet._codes), as C, for the yardsticks: written from the package, never by hand."""
    from tinynet import _exp_data

    lines = ["/* Written by benchmarks/baselines.py from tinynet._exp_data and tinynet._codes. */"]
    for name in ("FAST_BOUND", "OVERFLOW_BOUND", "UNDERFLOW_BOUND", "INV_LN2_N", "LN2_HI_N", "LN2_LO_N",
                 "SHIFT", "C2", "C3", "C4", "C5"):
        lines.append(f"#define TN_EXP_{name} {float(getattr(_exp_data, name)).hex()}")
    lines.append("static const double TN_EXP_TAIL[%d] = {%s};"
                 % (_exp_data.N, ", ".join(value.hex() for value in _exp_data.TAIL)))
    lines.append("static const uint64_t TN_EXP_SBITS[%d] = {%s};"
                 % (_exp_data.N, ", ".join(f"UINT64_C({bits % 2**64})" for bits in _exp_data.SBITS)))
    codes = ("SIGMOID", "TANH", "RELU", "IDENTITY", "SOFTMAX", "MSE", "CROSS_ENTROPY")
    lines.append("enum { %s };" % ", ".join(f"{name} = {getattr(_codes, name)}" for name in codes))
    return "\n".join(lines) + "\n"


def _build_c(source):
    """benchmarks/<source> built with the C compiler Python was built with and the extension's flags
    (no contraction, no fast-math) and -march=native, the best this compiler can do on this CPU, as the
    yardstick of every level of the extension (TINYNET_PORTABLE=1: without it); its
    function ``train_plain_c`` through ctypes. Skips the test when there is no compiler."""
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        pytest.skip(f"no C compiler ({compiler}) to build the plain C loop")
    build = pathlib.Path(tempfile.mkdtemp(prefix="tinynet-c-"))
    (build / "tn_data.h").write_text(_data_header())
    library = build / pathlib.Path(source).with_suffix(".so")
    host = [] if os.environ.get("TINYNET_PORTABLE", "") not in ("", "0") else ["-march=native"]
    subprocess.run([compiler, "-O3", *host, "-fno-fast-math", "-ffp-contract=off", "-shared", "-fPIC",
                    "-I", str(build), "-I", str(_C_SOURCE.parent), str(_C_SOURCE.with_name(source)),
                    "-o", str(library), "-lm"], check=True)
    function = ctypes.CDLL(str(library)).train_plain_c
    function.restype = None
    return function


def make_plain_c():
    """c_loop.c built with the C compiler Python was built with (gcc or cc), called through ctypes."""
    function = _build_c("c_loop.c")
    function.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_ssize_t,
                         ctypes.c_double, ctypes.c_ssize_t]

    def train(params, data, y, epochs):
        p = np.array(params, dtype=np.float64)
        data = np.ascontiguousarray(data, dtype=np.float64)
        y = np.ascontiguousarray(y, dtype=np.float64)
        function(p.ctypes.data, data.ctypes.data, y.ctypes.data, len(data), LEARN_RATE, epochs)
        return p.tolist()
    return train


def make_torch():
    """PyTorch eager, the fastest ordinary per-sample loop measured (float64, one thread, batch size 1).

    The parameters are small tensors W1 (2x2), b1 (2,), W2 (1x2), b2 (1,); each layer is one
    ``torch.addmv``, the loss ``F.mse_loss(..., reduction="sum")`` (= (y - o)^2), then ``loss.backward()``
    and in-place updates ``p.add_(p.grad, alpha=-lr)`` under ``torch.no_grad()``, resetting ``p.grad`` to
    None. Measured per SGD step on the tutorial's 4 x 1000 (torch 2.13, one thread, two noisy runs):
    this ~100-115 us, torch.autograd.grad in place of backward() the same within noise; ``W @ x + b``
    and ``((y - o) ** 2).sum()`` ~120-180 us; torch.optim.SGD(foreach=False) ~145-170 us (its default,
    foreach, ~190-230 us); nn.Sequential of nn.Linear with SGD ~220 us; the earlier flat 9-element
    vector indexed per scalar, with SGD, ~250-290 us. (torch.compile of a torch.func.grad step runs
    ~36 us a step, but compiles for ~18 s through a C++ toolchain: generated code, not an ordinary
    eager loop, so not used.)
    """
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    mse_loss = torch.nn.functional.mse_loss

    def train(params, data, y, epochs):
        p = torch.tensor(list(params), dtype=torch.float64)
        layers = p[:4].reshape(2, 2), p[6:8], p[4:6].reshape(1, 2), p[8:]      # W1, b1, W2, b2
        W1, b1, W2, b2 = parameters = [q.clone().requires_grad_() for q in layers]
        xs = torch.as_tensor(np.asarray(data, dtype=np.float64))
        ys = torch.as_tensor(np.asarray(y, dtype=np.float64)).reshape(-1, 1)   # targets shaped like o
        samples = list(zip(xs.unbind(), ys.unbind()))
        for _ in range(epochs):
            for x, y_true in samples:
                h = torch.sigmoid(torch.addmv(b1, W1, x))
                o = torch.sigmoid(torch.addmv(b2, W2, h))
                mse_loss(o, y_true, reduction="sum").backward()
                with torch.no_grad():
                    for q in parameters:
                        q.add_(q.grad, alpha=-LEARN_RATE)
                        q.grad = None
        return torch.cat([W1.detach().ravel(), W2.detach().ravel(), b1.detach(), b2.detach()]).tolist()
    return train


def _jax_tutorial():
    """The tutorial network's training in JAX's fast form, as ``run(p, data, y, epochs)`` (not jitted):
    the parameters as a pytree W1 (2x2), b1 (2,), w2 (2,), b2 (a scalar), jax.grad of the per-sample
    loss, lax.scan over the samples and over the epochs, float64. Returns (jax, run). The output neuron
    as a vector and a scalar (a dot product, no 1-element arrays) is the fastest form measured: 93 ns a
    step against 160 ns with W2 (1x2) and b2 (1,) on an AVX2 EPYC (issue 17)."""
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy

    def loss(params, x, y_true):
        W1, b1, w2, b2 = params
        h = jax.nn.sigmoid(W1 @ x + b1)
        o = jax.nn.sigmoid(w2 @ h + b2)
        return (y_true - o) ** 2

    grad = jax.grad(loss)

    def sample_step(params, sample):
        x, y_true = sample
        return jax.tree.map(lambda p, g: p - LEARN_RATE * g, params, grad(params, x, y_true)), None

    def run(p, data, y, epochs):
        params = p[:4].reshape(2, 2), p[6:8], p[4:6], p[8]   # W1, b1, w2, b2

        def epoch_step(params, _):
            return jax.lax.scan(sample_step, params, (data, y))[0], None
        W1, b1, w2, b2 = jax.lax.scan(epoch_step, params, length=epochs)[0]
        return jnp.concatenate([W1.ravel(), w2, b1, b2[None]])   # back to w1..w6, b1..b3

    return jax, run


def make_jax():
    """JAX in its fast form (see _jax_tutorial), all in one jax.jit.

    The samples' scan keeps the default unroll=1: measured on 100,000 x 5, ~68 ns a step against ~300-380
    with unroll=2, 4 or 8 (and ~290-330 for the earlier flat 9-element vector indexed per scalar, unroll=4).
    The arrays go to the jitted function as numpy arrays, and the epochs as a static length: converting
    them with jnp.asarray / jnp.zeros first cost ~200 us a call, most of the tutorial's 4 x 1000.
    """
    jax, run = _jax_tutorial()
    compiled = jax.jit(run, static_argnames="epochs")

    def train(params, data, y, epochs):
        out = compiled(np.asarray(params, dtype=np.float64), np.asarray(data, dtype=np.float64),
                       np.asarray(y, dtype=np.float64), epochs)
        return np.asarray(out).tolist()
    return train


def make_jax_many(dtype=np.float64):
    """JAX training many tutorial networks at once, the way JAX does it: make_jax's training under
    jax.vmap over the networks (their parameters an (n_nets, 9) batch), in one jax.jit, float64 (or
    ``dtype``: float32, every array given in it). ``train(params, data, y, epochs)`` takes and returns
    an (n_nets, 9) array."""
    jax, run = _jax_tutorial()
    compiled = jax.jit(jax.vmap(run, in_axes=(0, None, None, None)), static_argnames="epochs")

    def train(params, data, y, epochs):
        return np.asarray(compiled(np.asarray(params, dtype=dtype), np.asarray(data, dtype=dtype),
                                   np.asarray(y, dtype=dtype), epochs))
    return train


# --- tinynet.Network's baselines: (sizes, activation, output, loss) as Network takes them ---------

#: Network's names of activations and losses -> the kernels' codes (tinynet._rules and tinynet._codes,
#: where they are defined).
CODES = {**_rules.HIDDEN, **_codes.OUTPUT, **_codes.LOSSES}


def _layers(params, sizes):
    """Split Network's flat parameters into [(W, b), ...]."""
    layers, at = [], 0
    for n_in, n_out in itertools.pairwise(sizes):
        w = np.asarray(params[at:at + n_in * n_out]).reshape(n_out, n_in)
        at += n_in * n_out
        layers.append((w, np.asarray(params[at:at + n_out])))
        at += n_out
    return layers


def _flatten(layers):
    return np.concatenate([np.concatenate([np.ravel(w), np.ravel(b)]) for w, b in layers]).tolist()


def make_mlp_plain_c(sizes, activation, output, loss):
    """c_mlp.c (Network's loop in plain C), called through ctypes; targets as an (n, k) array."""
    function = _build_c("c_mlp.c")
    function.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_ssize_t, ctypes.c_int, ctypes.c_int,
                         ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_ssize_t,
                         ctypes.c_double, ctypes.c_ssize_t, ctypes.c_void_p]
    size_array = np.array(sizes, dtype=np.int64)
    work = np.empty(sum(sizes) + 2 * max(sizes))

    def train(params, X, T, learn_rate, epochs):
        p = np.array(params, dtype=np.float64)
        X = np.ascontiguousarray(X, dtype=np.float64)
        T = np.ascontiguousarray(T, dtype=np.float64)
        function(p.ctypes.data, size_array.ctypes.data, len(sizes) - 1, CODES[activation],
                 CODES[output], CODES[loss], X.ctypes.data, T.ctypes.data, len(X), learn_rate, epochs,
                 work.ctypes.data)
        return p.tolist()
    return train


def make_mlp_jax(sizes, activation, output, loss, dtype=np.float64):
    """JAX in its fast form: the layers as a list of (W, b) small matrices, jax.grad of the same per-sample
    loss, lax.scan over the samples and the epochs, all in one jax.jit, float64 (or ``dtype``: float32,
    JAX's default, every array given in it)."""
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    hidden = {"sigmoid": jax.nn.sigmoid, "tanh": jnp.tanh, "relu": jax.nn.relu}[activation]

    def sample_loss(layers, x, y):
        a = x
        for w, b in layers[:-1]:
            a = hidden(w @ a + b)
        w, b = layers[-1]
        s = w @ a + b
        if loss == "cross_entropy" and output == "softmax":
            return jax.nn.logsumexp(s) - y @ s
        if loss == "cross_entropy":
            return jnp.mean(y * jax.nn.softplus(-s) + (1 - y) * jax.nn.softplus(s))
        a = {"sigmoid": jax.nn.sigmoid, "identity": lambda v: v, "softmax": jax.nn.softmax}[output](s)
        return jnp.mean((y - a) ** 2)

    grad = jax.grad(sample_loss)

    def run(layers, X, T, learn_rate, epochs):
        def sample_step(layers, sample):
            grads = grad(layers, *sample)
            return jax.tree.map(lambda p, g: p - learn_rate * g, layers, grads), None

        def epoch_step(layers, _):
            # unroll=4 measured ~15-20% faster than the default unroll=1 on both of test_network's
            # configs (the opposite of make_jax's 2-2-1 network, where unroll=1 is ~5x faster)
            return jax.lax.scan(sample_step, layers, (X, T), unroll=4)[0], None
        return jax.lax.scan(epoch_step, layers, length=epochs)[0]

    compiled = jax.jit(run, static_argnames="epochs")

    def train(params, X, T, learn_rate, epochs):
        # numpy arrays straight into the jitted function (jnp.asarray / jnp.zeros first cost ~30-90 us each)
        out = compiled(_layers(np.asarray(params, dtype=dtype), sizes), np.asarray(X, dtype=dtype),
                       np.asarray(T, dtype=dtype), learn_rate, epochs)
        return _flatten(jax.device_get(out))
    return train


def _torchscript_loop(weights, biases, X, T, learn_rate: float, epochs: int, hidden: int,
                      output: int, loss: int):
    """The per-sample loop that make_mlp_torchscript scripts (type comments keep torch optional)."""
    # type: (List[Tensor], List[Tensor], Tensor, Tensor, float, int, int, int, int) -> None
    # One addmv a layer, torch's own loss functions and add_(g, alpha=-lr): ~1.5x faster than
    # mv + b, the losses written out and sub_(lr * g) (fewer ops for the interpreter and autograd).
    for _ in range(epochs):
        for t in range(X.shape[0]):
            a = X[t]
            for layer in range(len(weights) - 1):
                s = torch.addmv(biases[layer], weights[layer], a)
                if hidden == 0:
                    a = torch.sigmoid(s)
                elif hidden == 1:
                    a = torch.tanh(s)
                else:
                    a = torch.relu(s)
            s = torch.addmv(biases[-1], weights[-1], a)
            y = T[t]
            if loss == 1 and output == 4:
                value = torch.nn.functional.cross_entropy(s, y)     # y: class probabilities
            elif loss == 1:
                value = torch.nn.functional.binary_cross_entropy_with_logits(s, y)
            else:
                if output == 0:
                    out = torch.sigmoid(s)
                elif output == 4:
                    out = torch.softmax(s, 0)
                else:
                    out = s
                value = torch.nn.functional.mse_loss(out, y)
            grads = torch.autograd.grad([value], weights + biases)
            with torch.no_grad():
                for i in range(len(weights)):
                    g = grads[i]
                    if g is not None:
                        weights[i].add_(g, alpha=-learn_rate)
                for i in range(len(biases)):
                    g = grads[len(weights) + i]
                    if g is not None:
                        biases[i].add_(g, alpha=-learn_rate)


_scripted = {}


def make_mlp_torchscript(sizes, activation, output, loss):
    """TorchScript: a scripted per-sample loop, autograd for the gradients, float64, one thread.

    TorchScript is deprecated in torch 2.x but still runs (torch 2.13; 2.14 warns, FutureWarning, and
    runs it as before), and stays the fastest ordinary
    form measured: on test_network's two configs (1,000 x 5) ~72-77 us a step, against ~125-145 us for the
    same loop in eager PyTorch (addmv, torch's loss functions, backward() or autograd.grad, add_), so
    there is no eager make_mlp_torch.
    """
    global torch
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    if "loop" not in _scripted:
        with warnings.catch_warnings():
            # TorchScript is deprecated in 2.x (a DeprecationWarning; from 2.14 a FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            _scripted["loop"] = torch.jit.script(_torchscript_loop)
    run = _scripted["loop"]
    codes = CODES[activation], CODES[output], CODES[loss]

    def train(params, X, T, learn_rate, epochs):
        layers = _layers(params, sizes)
        weights = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w, _ in layers]
        biases = [torch.tensor(b, dtype=torch.float64, requires_grad=True) for _, b in layers]
        run(weights, biases, torch.as_tensor(np.asarray(X, dtype=np.float64)),
            torch.as_tensor(np.asarray(T, dtype=np.float64)), learn_rate, epochs, *codes)
        return _flatten([(w.detach().numpy(), b.detach().numpy()) for w, b in zip(weights, biases)])
    return train
