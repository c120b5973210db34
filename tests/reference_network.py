"""An independent numpy rendering of tinynet.Network's per-sample SGD, for the tests.

Written the textbook way (vectorised per layer, delta = dL/ds, W -= lr * outer(delta, a_prev)),
not the kernels' way, so that agreement checks the arithmetic rather than repeating it.
"""

import numpy as np


def activate(name, s):
    if name == "sigmoid":
        return 1 / (1 + np.exp(-s))
    if name == "tanh":
        return np.tanh(s)
    if name == "relu":
        return np.maximum(s, 0.0)
    if name == "identity":
        return s
    e = np.exp(s - s.max())       # softmax
    return e / e.sum()


def derivative(name, a):
    if name == "sigmoid":
        return a * (1 - a)
    if name == "tanh":
        return 1 - a * a
    if name == "relu":
        return (a > 0).astype(float)
    return np.ones_like(a)


def softplus(x):
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


class ReferenceMLP:
    def __init__(self, sizes, activation, output, loss, weights, biases):
        self.sizes, self.activation, self.output, self.loss_name = sizes, activation, output, loss
        self.weights = [w.copy() for w in weights]
        self.biases = [b.copy() for b in biases]

    def forward(self, x):
        acts, s = [np.asarray(x, dtype=float)], None
        for layer, (w, b) in enumerate(zip(self.weights, self.biases)):
            s = w @ acts[-1] + b
            last = layer == len(self.weights) - 1
            acts.append(activate(self.output if last else self.activation, s))
        return acts, s

    def predict(self, X):
        return np.array([self.forward(x)[0][-1] for x in X])

    def sample_loss(self, x, y):
        acts, s = self.forward(x)
        a, k = acts[-1], len(y)
        if self.loss_name == "mse":
            return np.sum((y - a) ** 2) / k
        if self.output == "sigmoid":
            return np.sum(y * softplus(-s) + (1 - y) * softplus(s)) / k
        m = s.max()
        return m + np.log(np.sum(np.exp(s - m))) - np.sum(y * s)

    def loss(self, X, Y):
        return np.mean([self.sample_loss(x, y) for x, y in zip(X, Y)])

    def output_delta(self, a, y):
        """dL/ds of the output layer."""
        k = len(y)
        if self.loss_name == "cross_entropy":
            return (a - y) / k if self.output == "sigmoid" else a - y
        d_a = -2 * (y - a) / k
        if self.output == "softmax":
            return a * (d_a - d_a @ a)
        return d_a * derivative(self.output, a)

    def train(self, X, Y, learn_rate, epochs, momentum=0.0, orders=None):
        velocity_w = [np.zeros_like(w) for w in self.weights]
        velocity_b = [np.zeros_like(b) for b in self.biases]
        for epoch in range(epochs):
            order = range(len(X)) if orders is None else orders[epoch]
            for t in order:
                acts, _ = self.forward(X[t])
                delta = self.output_delta(acts[-1], Y[t])
                for layer in range(len(self.weights) - 1, -1, -1):
                    grad_w = np.outer(delta, acts[layer])
                    grad_b = delta
                    if layer > 0:
                        delta = (self.weights[layer].T @ delta) * derivative(self.activation, acts[layer])
                    velocity_w[layer] = momentum * velocity_w[layer] - learn_rate * grad_w
                    velocity_b[layer] = momentum * velocity_b[layer] - learn_rate * grad_b
                    self.weights[layer] += velocity_w[layer]
                    self.biases[layer] += velocity_b[layer]
