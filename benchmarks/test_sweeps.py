"""Sweeps: 64 Network((64, 32, 10)) on digits, trained with Adam in shuffled mini-batches of 32, each at
its own learning rate: one by one on one thread, train_many (all cores), and JAX's way (jax.vmap of a
jitted Adam over the 64 networks, each learning rate a vmapped argument); and early stopping, where
half the networks stop after 5 of 50 epochs.

Each group's "serial" entry is the baseline; the report prints each entry's speed-up over it.
"""

import copy

import numpy as np
import pytest

from tinynet import Network, train_many

SIZES = (64, 32, 10)
RATES = np.geomspace(1e-4, 3e-2, 64)
OPTIONS = dict(optimizer="adam", batch_size=32, shuffle=True, loss_every=0)


@pytest.fixture(scope="module")
def digits():
    datasets = pytest.importorskip("sklearn.datasets")
    X, y = datasets.load_digits(return_X_y=True)
    return X / 16.0, y


def _networks(backend):
    return [Network(SIZES, "relu", "softmax", "cross_entropy", seed=seed, backend=backend)
            for seed in range(64)]


def make_jax_sweep(sizes, batch_size, dtype=np.float64):
    """JAX in its fast form for a sweep: each network's layers a list of (W, b) small matrices, Adam
    written in JAX (scikit-learn's and tinynet's form), the epochs and the mini-batches in lax.scan,
    all under jax.vmap over the networks (their parameters, Adam's state, their learning rates and
    their epoch orders vmapped), in one jax.jit. The batches are padded to whole ones with rows of
    weight 0 (JAX's shapes are static), each batch's gradient the sum over its real rows / their count.

    ``train(layers, rates, X, T, orders)`` takes each network's layers stacked on a leading axis,
    its learning rates (n_nets,), and its orders (n_nets, epochs, n); returns the trained layers.
    """
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    beta_1, beta_2, epsilon = 0.9, 0.999, 1e-8

    def batch_loss(layers, x, t, weight):
        a = x
        for w, b in layers[:-1]:
            a = jax.nn.relu(a @ w.T + b)
        w, b = layers[-1]
        s = a @ w.T + b
        rows = jax.nn.logsumexp(s, axis=1) - jnp.sum(t * s, axis=1)
        return jnp.sum(weight * rows) / jnp.sum(weight)

    grad = jax.grad(batch_loss)

    def run(layers, rate, X, T, orders):
        n = X.shape[0]
        n_batches = -(-n // batch_size)
        pad = n_batches * batch_size - n
        zeros = jax.tree.map(jnp.zeros_like, layers)

        def batch_step(carry, batch):
            layers, m, v, t = carry
            index, weight = batch
            g = grad(layers, X[index], T[index], weight)
            t = t + 1
            m = jax.tree.map(lambda m, g: beta_1 * m + (1 - beta_1) * g, m, g)
            v = jax.tree.map(lambda v, g: beta_2 * v + (1 - beta_2) * g * g, v, g)
            step = rate * jnp.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
            layers = jax.tree.map(lambda p, m, v: p - step * m / (jnp.sqrt(v) + epsilon), layers, m, v)
            return (layers, m, v, t), None

        def epoch_step(carry, order):
            index = jnp.concatenate([order, jnp.zeros(pad, order.dtype)]).reshape(n_batches, batch_size)
            weight = jnp.concatenate([jnp.ones(n, X.dtype), jnp.zeros(pad, X.dtype)])
            return jax.lax.scan(batch_step, carry, (index, weight.reshape(n_batches, batch_size)))[0], None

        start = (layers, zeros, zeros, jnp.zeros((), X.dtype))
        return jax.lax.scan(epoch_step, start, orders)[0][0]

    compiled = jax.jit(jax.vmap(run, in_axes=(0, 0, None, None, 0)))

    def train(layers, rates, X, T, orders):
        return jax.block_until_ready(compiled(layers, np.asarray(rates, dtype), np.asarray(X, dtype),
                                              np.asarray(T, dtype), orders))
    return train


def _stacked_layers(nets):
    """The networks' layers as JAX takes them: [(W (n_nets, out, in), b (n_nets, out)), ...]."""
    return [(np.stack([net.weights[i] for net in nets]), np.stack([net.biases[i] for net in nets]))
            for i in range(len(SIZES) - 1)]


@pytest.mark.parametrize("entry", ["serial", "many-all-cores", "jax-vmap"])
@pytest.mark.parametrize("backend", ["cython", "numba"])
def test_64_networks_adam_each_its_own_rate(benchmark, digits, backend, entry):
    """64 Network((64, 32, 10)) relu/softmax/CE, Adam, batches of 32, 5 shuffled epochs of digits (1,797
    rows), each network at its own learning rate (1e-4 to 3e-2)."""
    benchmark.group = f"sweep: 64 Network((64, 32, 10)), Adam, batch 32, 5 epochs, 64 rates ({backend})"
    X, y = digits
    nets = _networks(backend)
    if entry == "jax-vmap":
        if backend != "cython":
            pytest.skip("JAX is measured once, in the cython group")
        T = np.eye(10)[y]
        train = make_jax_sweep(SIZES, 32)
        orders = np.array([[np.random.default_rng([seed, epoch]).permutation(len(X)) for epoch in range(5)]
                           for seed in range(64)])
        layers = _stacked_layers(nets)
        train(layers, RATES, X, T, orders)                      # compile outside the measurement
        benchmark.pedantic(train, args=(layers, RATES, X, T, orders), rounds=5, iterations=1)
        # the same training as tinynet's, up to rounding: JAX from the same start, in tinynet's orders
        alone = [copy.deepcopy(net) for net in nets[:2]]
        for net, rate in zip(alone, RATES):
            net.train(X[:300], y[:300], learn_rate=rate, epochs=1, optimizer="adam", batch_size=32)
        trained = train(_stacked_layers(nets[:2]), RATES[:2], X[:300], T[:300],
                        np.array([[np.arange(300)]] * 2))
        for index, net in enumerate(alone):
            np.testing.assert_allclose(np.asarray(trained[0][0][index]), net.weights[0], rtol=0, atol=1e-10)
        return
    starts = [copy.deepcopy(net) for net in nets]
    nets[0].train(X[:40], y[:40], epochs=1, **OPTIONS)          # compile (numba) outside the measurement

    def reset():
        nets[:] = [copy.deepcopy(net) for net in starts]

    def serial():
        for net, rate in zip(nets, RATES):
            net.train(X, y, learn_rate=rate, epochs=5, **OPTIONS)

    def many():
        train_many(nets, X, y, learn_rate=RATES, epochs=5, **OPTIONS)

    benchmark.pedantic(serial if entry == "serial" else many, setup=reset, rounds=5, iterations=1)
    expected = [copy.deepcopy(net) for net in starts]
    for net, rate in zip(expected, RATES):
        net.train(X, y, learn_rate=rate, epochs=5, **OPTIONS)
    assert [net.params.tobytes() for net in nets] == [net.params.tobytes() for net in expected]


@pytest.mark.parametrize("entry", ["serial", "half-stop-at-5"])
def test_early_stopping_frees_the_work(benchmark, digits, entry):
    """64 Network((64, 32, 10)), Adam, batches of 32, up to 50 epochs of 1,200 digits with a validation
    set of 597, on all cores: all 64 running 50 epochs ("serial" here: the baseline), or half of them
    stopping after 5 (a tolerance no epoch meets, patience 4)."""
    benchmark.group = "sweep: early stopping, 64 networks, up to 50 epochs (cython)"
    X, y = digits
    options = dict(OPTIONS, learn_rate=RATES, epochs=50, validation=(X[1200:], y[1200:]))
    if entry == "half-stop-at-5":
        options.update(patience=[4, None] * 32, tol=[1e9, 0.0] * 32)
    nets = _networks("cython")
    starts = [copy.deepcopy(net) for net in nets]
    summary = []

    def reset():
        nets[:] = [copy.deepcopy(net) for net in starts]

    def run():
        summary[:] = train_many(nets, X[:1200], y[:1200], **options)

    benchmark.pedantic(run, setup=reset, rounds=3, iterations=1)
    epochs = [record.epochs for record in summary]
    assert epochs == ([5, 50] * 32 if entry == "half-stop-at-5" else [50] * 64)
