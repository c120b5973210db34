"""Many networks at once: two threads, and train_many's two levers (threads, and 32 networks stepped
together in vector instructions), against JAX's way (jax.vmap); tutorial networks and Networks.

Every entry of a group does the same work from the same starting weights; "serial" is the baseline
(one network after another, one thread), and the report prints each entry's speed-up over it.
"""

import threading

import numpy as np
import pytest

from tinynet import Network, OurNeuralNetwork, train_many
from tinynet._data import synthetic_data, tutorial_data
from tinynet._network import TUTORIAL_ORDER

TUTORIAL = tutorial_data()
STARTS = [np.random.default_rng(seed).normal(size=9) for seed in range(64)]


def _networks(backend, count):
    nets = [OurNeuralNetwork(backend=backend) for _ in range(count)]
    for net, start in zip(nets, STARTS):
        net.params = start
    return nets


def _reset(nets):
    for net, start in zip(nets, STARTS):
        net.params = start


@pytest.mark.parametrize("entry", ["serial", "two-threads"])
@pytest.mark.parametrize("backend", ["cython", "numba"])
def test_two_threads_two_networks(benchmark, backend, entry):
    """Two networks on 20,000 samples x 10 epochs: one after the other, or one thread each."""
    benchmark.group = f"threads: two networks, 20,000 x 10 ({backend})"
    data, y = synthetic_data(20_000, seed=0)
    nets = _networks(backend, 2)
    nets[0].train(data[:10], y[:10], epochs=1, verbose=False)

    def serial():
        for net in nets:
            net.train(data, y, epochs=10, verbose=False)

    def threaded():
        threads = [threading.Thread(target=net.train, args=(data, y),
                                    kwargs=dict(epochs=10, verbose=False)) for net in nets]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    benchmark.pedantic(serial if entry == "serial" else threaded, setup=lambda: _reset(nets),
                       rounds=10, iterations=1)
    expected = _networks(backend, 2)
    for net in expected:
        net.train(data, y, epochs=10, verbose=False)
    assert [net.params.tolist() for net in nets] == [net.params.tolist() for net in expected]


@pytest.mark.parametrize("entry", ["serial", "many-one-thread", "many-all-cores"])
@pytest.mark.parametrize("backend", ["cython", "numba"])
def test_64_tutorial_networks(benchmark, backend, entry):
    """64 tutorial networks (4 x 1000 each): one by one, train_many on one thread, on all cores."""
    benchmark.group = f"many: 64 tutorial networks ({backend})"
    data, y = TUTORIAL
    nets = _networks(backend, 64)
    train_many(nets[:2], data, y, epochs=1)

    def serial():
        for net in nets:
            net.train(data, y, verbose=False)

    def many():
        train_many(nets, data, y, n_jobs=1 if entry == "many-one-thread" else None)

    benchmark.pedantic(serial if entry == "serial" else many, setup=lambda: _reset(nets),
                       rounds=20, iterations=1)
    expected = _networks(backend, 64)
    for net in expected:
        net.train(data, y, verbose=False)
    assert [(n.params.tolist(), n.loss_history) for n in nets] == \
        [(n.params.tolist(), n.loss_history) for n in expected]


JOB = synthetic_data(2000, seed=0)


@pytest.mark.parametrize("entry", ["serial", "many-one-thread", "many-all-cores", "jax-vmap"])
@pytest.mark.parametrize("backend", ["cython", "numba"])
def test_64_networks_2000_samples(benchmark, backend, entry):
    """64 tutorial networks on 2,000 samples x 3 epochs: one by one, train_many, and JAX (jax.vmap of
    the jitted lax.scan, its fast form). JAX's first 200 steps are checked against tinynet's (later,
    per-sample SGD amplifies the last-bit differences of two exps chaotically in some networks: 9e-9
    after 500 steps, 5e-5 after 1,000, measured)."""
    benchmark.group = f"many: 64 tutorial networks, 2,000 x 3 ({backend})"
    data, y = JOB
    nets = _networks(backend, 64)
    if entry == "jax-vmap":
        from baselines import make_jax_many

        train = make_jax_many()
        starts = np.array(STARTS)
        train(starts, data, y, 3)                                   # compile outside the measurement
        benchmark.pedantic(train, args=(starts, data, y, 3), rounds=10, iterations=1)
        first = train(starts, data[:200], y[:200], 1)
        train_many(nets, data[:200], y[:200], epochs=1)
        np.testing.assert_allclose(first, [net.params for net in nets], rtol=0, atol=1e-10)
        return
    train_many(nets[:2], data, y, epochs=1)
    nets[0].train(data[:10], y[:10], epochs=1, verbose=False)

    def serial():
        for net in nets:
            net.train(data, y, epochs=3, verbose=False, loss_every=0)

    def many():
        train_many(nets, data, y, epochs=3, loss_every=0, n_jobs=1 if entry == "many-one-thread" else None)

    benchmark.pedantic(serial if entry == "serial" else many, setup=lambda: _reset(nets), rounds=10,
                       iterations=1)
    benchmark.extra_info["network_steps"] = 64 * len(data) * 3
    expected = _networks(backend, 64)
    for net in expected:
        net.train(data, y, epochs=3, verbose=False, loss_every=0)
    assert [net.params.tolist() for net in nets] == [net.params.tolist() for net in expected]


@pytest.mark.parametrize("entry", ["serial", "many-one-thread", "many-all-cores", "jax-vmap"])
def test_64_float32_networks_2000_samples(benchmark, entry):
    """test_64_networks_2000_samples's job in float32: 64 Network((2, 2, 1), dtype="float32") (the
    tutorial's network, from the same starts) on the extension, and JAX's vmap in float32 (its default
    dtype). JAX's first 200 steps are checked against tinynet's, within float32's precision."""
    benchmark.group = "many: 64 float32 tutorial networks, 2,000 x 3 (cython)"
    data, y = JOB
    starts = np.array(STARTS)

    def networks():
        nets = [Network((2, 2, 1), dtype="float32") for _ in STARTS]
        for net, start in zip(nets, starts):
            net.params = start[np.argsort(TUTORIAL_ORDER)]          # the tutorial's order, as Network's
        return nets

    nets = networks()
    if entry == "jax-vmap":
        from baselines import make_jax_many

        train = make_jax_many(np.float32)
        begin = np.array([net.params[TUTORIAL_ORDER] for net in nets])
        train(begin, data, y, 3)                                    # compile outside the measurement
        benchmark.pedantic(train, args=(begin, data, y, 3), rounds=10, iterations=1)
        first = train(begin, data[:200], y[:200], 1)
        train_many(nets, data[:200], y[:200], epochs=1)
        np.testing.assert_allclose(first, [net.params[TUTORIAL_ORDER] for net in nets], rtol=0, atol=1e-5)
        return
    begin = [net.params for net in nets]
    train_many(networks()[:2], data[:10], y[:10], epochs=1)

    def reset():
        for net, start in zip(nets, begin):
            net.params = start

    def serial():
        for net in nets:
            net.train(data, y, epochs=3, loss_every=0)

    def many():
        train_many(nets, data, y, epochs=3, loss_every=0, n_jobs=1 if entry == "many-one-thread" else None)

    benchmark.pedantic(serial if entry == "serial" else many, setup=reset, rounds=10, iterations=1)
    benchmark.extra_info["network_steps"] = 64 * len(data) * 3
    expected = networks()
    for net in expected:
        net.train(data, y, epochs=3, loss_every=0)
    assert [net.params.tobytes() for net in nets] == [net.params.tobytes() for net in expected]


@pytest.mark.parametrize("entry", ["serial", "many-one-thread", "many-all-cores"])
@pytest.mark.parametrize("backend", ["cython", "numba"])
def test_64_networks_2_16_16_1(benchmark, backend, entry):
    """64 Network((2, 16, 16, 1)) (sigmoid, mse; seeds 0..63) on 1,000 samples x 3 epochs: one by one,
    and train_many on one thread and on all cores."""
    benchmark.group = f"many: 64 Network((2, 16, 16, 1)), 1,000 x 3 ({backend})"
    data, y = synthetic_data(1000, seed=0)
    nets = [Network((2, 16, 16, 1), seed=seed, backend=backend) for seed in range(64)]
    starts = [net.params for net in nets]

    def reset():
        for net, start in zip(nets, starts):
            net.params = start

    train_many(nets[:2], data[:10], y[:10], epochs=1)               # compile outside the measurement
    nets[0].train(data[:10], y[:10], epochs=1)

    def serial():
        for net in nets:
            net.train(data, y, epochs=3, loss_every=0)

    def many():
        train_many(nets, data, y, epochs=3, loss_every=0, n_jobs=1 if entry == "many-one-thread" else None)

    benchmark.pedantic(serial if entry == "serial" else many, setup=reset, rounds=10, iterations=1)
    benchmark.extra_info["network_steps"] = 64 * len(data) * 3
    expected = [Network((2, 16, 16, 1), seed=seed, backend=backend) for seed in range(64)]
    for net in expected:
        net.train(data, y, epochs=3, loss_every=0)
    assert [net.params.tobytes() for net in nets] == [net.params.tobytes() for net in expected]


@pytest.mark.parametrize("loss_every", [0, 10, 1])
@pytest.mark.parametrize("sizes", [(2, 2, 1), (2, 3, 1)], ids=str)
@pytest.mark.parametrize("backend", ["cython", "numba"])
def test_64_networks_with_their_losses(benchmark, backend, sizes, loss_every):
    """train_many of 64 Network(sizes) (sigmoid, mse; seeds 0..63) on 2,000 samples x 3 epochs, one
    thread, recording each network's mean loss every ``loss_every`` epochs (0: never; 10, train's
    default: after epoch 0; 1: after every epoch): what the recorded losses cost (the tutorial's lanes
    kernel at (2, 2, 1), the general one at (2, 3, 1))."""
    benchmark.group = f"many: 64 Network({sizes}), 2,000 x 3, losses recorded ({backend})"
    data, y = synthetic_data(2000, seed=0)
    nets = [Network(sizes, seed=seed, backend=backend) for seed in range(64)]
    starts = [net.params for net in nets]

    def reset():
        for net, start in zip(nets, starts):
            net.params = start

    train_many(nets[:2], data[:10], y[:10], epochs=1, loss_every=1)     # compile outside the measurement
    benchmark.pedantic(lambda: train_many(nets, data, y, epochs=3, loss_every=loss_every, n_jobs=1),
                       setup=reset, rounds=10, iterations=1)
    alone = Network(sizes, seed=63, backend=backend)
    alone.train(data, y, epochs=3, loss_every=loss_every)
    assert nets[63].loss_history == alone.loss_history and len(alone.loss_history) == (0, 1, 3)[
        (0, 10, 1).index(loss_every)]
