"""What a user would otherwise train the tutorial network with, for the benchmarks' comparisons.

Each ``make_*`` returns ``train(params, data, y, epochs) -> list of 9 floats`` (plain per-sample SGD,
learning rate 0.1, the tutorial's loss), or raises ``pytest.skip`` when its library is not installed.
"""

import ctypes
import itertools
import pathlib
import shutil
import subprocess
import sysconfig
import tempfile
import warnings

import numpy as np
import pytest

from tinynet._baseline import train_numpy

__all__ = ["make_jax", "make_numpy", "make_plain_c", "make_torch"]

LEARN_RATE = 0.1
_C_SOURCE = pathlib.Path(__file__).with_name("c_loop.c")


def make_numpy():
    """The tutorial's own code: numpy scalars and np.exp (tinynet._baseline)."""
    def train(params, data, y, epochs):
        return [float(p) for p in train_numpy(params, data, y, LEARN_RATE, epochs)]
    return train


def _build_c(source):
    """benchmarks/<source> built with the C compiler Python was built with (the extension's flags);
    its function ``train_plain_c`` through ctypes. Skips the test when there is no compiler."""
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        pytest.skip(f"no C compiler ({compiler}) to build the plain C loop")
    library = pathlib.Path(tempfile.mkdtemp(prefix="tinynet-c-")) / pathlib.Path(source).with_suffix(".so")
    subprocess.run([compiler, "-O3", "-fno-fast-math", "-ffp-contract=off", "-shared", "-fPIC",
                    str(_C_SOURCE.with_name(source)), "-o", str(library), "-lm"], check=True)
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
    """A typical PyTorch loop: autograd, torch.optim.SGD, batch size 1, float64."""
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)

    def train(params, data, y, epochs):
        p = torch.tensor(list(params), dtype=torch.float64, requires_grad=True)
        xs = torch.as_tensor(np.asarray(data, dtype=np.float64))
        ys = torch.as_tensor(np.asarray(y, dtype=np.float64))
        optimizer = torch.optim.SGD([p], lr=LEARN_RATE)
        for _ in range(epochs):
            for x, y_true in zip(xs, ys):
                optimizer.zero_grad()
                h1 = torch.sigmoid(p[0] * x[0] + p[1] * x[1] + p[6])
                h2 = torch.sigmoid(p[2] * x[0] + p[3] * x[1] + p[7])
                o1 = torch.sigmoid(p[4] * h1 + p[5] * h2 + p[8])
                loss = (y_true - o1) ** 2
                loss.backward()
                optimizer.step()
        return p.detach().tolist()
    return train


def make_jax():
    """JAX: the per-sample SGD step under jit, looped with lax.scan over samples and epochs, float64."""
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy

    def loss(p, x, y_true):
        h1 = jax.nn.sigmoid(p[0] * x[0] + p[1] * x[1] + p[6])
        h2 = jax.nn.sigmoid(p[2] * x[0] + p[3] * x[1] + p[7])
        o1 = jax.nn.sigmoid(p[4] * h1 + p[5] * h2 + p[8])
        return (y_true - o1) ** 2

    grad = jax.grad(loss)

    def sample_step(p, sample):
        x, y_true = sample
        return p - LEARN_RATE * grad(p, x, y_true), None

    @jax.jit
    def run(p, data, y, epochs_array):
        def epoch_step(p, _):
            return jax.lax.scan(sample_step, p, (data, y), unroll=4)[0], None   # unroll: ~25% faster
        return jax.lax.scan(epoch_step, p, epochs_array)[0]

    def train(params, data, y, epochs):
        p = jnp.asarray(np.asarray(params, dtype=np.float64))
        out = run(p, jnp.asarray(np.asarray(data, dtype=np.float64)),
                  jnp.asarray(np.asarray(y, dtype=np.float64)), jnp.zeros(epochs))
        return np.asarray(out.block_until_ready()).tolist()
    return train


# --- tinynet.Network's baselines: (sizes, activation, output, loss) as Network takes them ---------

CODES = {"sigmoid": 0, "tanh": 1, "relu": 2, "identity": 3, "softmax": 4, "mse": 0, "cross_entropy": 1}


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


def make_mlp_jax(sizes, activation, output, loss):
    """JAX: the per-sample step under jit (jax.grad of the same loss), lax.scan over samples, float64."""
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

    def run(layers, X, T, learn_rate, epochs_array):
        def sample_step(layers, sample):
            grads = grad(layers, *sample)
            return jax.tree_util.tree_map(lambda p, g: p - learn_rate * g, layers, grads), None

        def epoch_step(layers, _):
            return jax.lax.scan(sample_step, layers, (X, T), unroll=4)[0], None
        return jax.lax.scan(epoch_step, layers, epochs_array)[0]

    compiled = jax.jit(run)

    def train(params, X, T, learn_rate, epochs):
        layers = [(jnp.asarray(w), jnp.asarray(b)) for w, b in _layers(params, sizes)]
        out = compiled(layers, jnp.asarray(X, dtype=jnp.float64), jnp.asarray(T, dtype=jnp.float64),
                       learn_rate, jnp.zeros(epochs))
        return _flatten([(np.asarray(w), np.asarray(b)) for w, b in jax.block_until_ready(out)])
    return train


def _torchscript_loop(weights, biases, X, T, learn_rate: float, epochs: int, hidden: int,
                      output: int, loss: int):
    """The per-sample loop that make_mlp_torchscript scripts (type comments keep torch optional)."""
    # type: (List[Tensor], List[Tensor], Tensor, Tensor, float, int, int, int, int) -> None
    for _ in range(epochs):
        for t in range(X.shape[0]):
            a = X[t]
            for layer in range(len(weights) - 1):
                s = torch.mv(weights[layer], a) + biases[layer]
                if hidden == 0:
                    a = torch.sigmoid(s)
                elif hidden == 1:
                    a = torch.tanh(s)
                else:
                    a = torch.relu(s)
            s = torch.mv(weights[-1], a) + biases[-1]
            y = T[t]
            if loss == 1 and output == 4:
                value = torch.logsumexp(s, 0) - torch.dot(y, s)
            elif loss == 1:
                sp = torch.nn.functional.softplus
                value = torch.mean(y * sp(-s) + (1 - y) * sp(s))
            else:
                if output == 0:
                    out = torch.sigmoid(s)
                elif output == 4:
                    out = torch.softmax(s, 0)
                else:
                    out = s
                value = torch.mean((y - out) ** 2)
            grads = torch.autograd.grad([value], weights + biases)
            with torch.no_grad():
                for i in range(len(weights)):
                    g = grads[i]
                    if g is not None:
                        weights[i].sub_(learn_rate * g)
                for i in range(len(biases)):
                    g = grads[len(weights) + i]
                    if g is not None:
                        biases[i].sub_(learn_rate * g)


_scripted = {}


def make_mlp_torchscript(sizes, activation, output, loss):
    """TorchScript: a scripted per-sample loop, autograd for the gradients, float64, one thread."""
    global torch
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    if "loop" not in _scripted:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)   # TorchScript is deprecated in 2.x
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
