"""What a user would otherwise train the tutorial network with, for the benchmarks' comparisons.

Each ``make_*`` returns ``train(params, data, y, epochs) -> list of 9 floats`` (plain per-sample SGD,
learning rate 0.1, the tutorial's loss), or raises ``pytest.skip`` when its library is not installed.
"""

import ctypes
import pathlib
import shutil
import subprocess
import sysconfig
import tempfile

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


def make_plain_c():
    """c_loop.c built with the C compiler Python was built with (gcc or cc), called through ctypes."""
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        pytest.skip(f"no C compiler ({compiler}) to build the plain C loop")
    build = pathlib.Path(tempfile.mkdtemp(prefix="tinynet-c-loop-"))
    library = build / "c_loop.so"
    subprocess.run([compiler, "-O3", "-fno-fast-math", "-ffp-contract=off", "-shared", "-fPIC",
                    str(_C_SOURCE), "-o", str(library), "-lm"], check=True)
    function = ctypes.CDLL(str(library)).train_plain_c
    function.restype = None
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
