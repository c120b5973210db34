"""The tests' one independent numpy rendering of tinynet.Network's training: per-sample SGD (with
momentum) and mini-batches with L2, SGD, (Nesterov) momentum, Adam and iRPROP-, as the formulas state
them.

Written the textbook way (vectorised per layer or per batch, delta = dL/ds, W -= lr * outer(delta,
a_prev)), not the kernels' way, and with numpy's own exp, tanh and sums, so that agreement (to a few
ulp) checks the arithmetic rather than repeating it: a rule copied wrongly into every backend alike
fails here.
"""

import math

import numpy as np


def activate(name, s):
    """An activation of sums s: one sample's (1-D) or a batch's (rows)."""
    if name == "sigmoid":
        return 1 / (1 + np.exp(-s))
    if name == "tanh":
        return np.tanh(s)
    if name == "relu":
        return np.maximum(s, 0.0)
    if name == "leaky_relu":
        return np.where(s > 0, s, 0.01 * s)
    if name == "identity":
        return s
    e = np.exp(s - s.max(axis=-1, keepdims=True))       # softmax
    return e / e.sum(axis=-1, keepdims=True)


def derivative(name, a):
    """f' from the value a = f(s)."""
    if name == "sigmoid":
        return a * (1 - a)
    if name == "tanh":
        return 1 - a * a
    if name == "relu":
        return (a > 0).astype(float)
    if name == "leaky_relu":
        return np.where(a > 0, 1.0, 0.01)
    return np.ones_like(a)


def softplus(x):
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


class ReferenceMLP:
    def __init__(self, sizes, activation, output, loss, weights, biases):
        self.sizes, self.activation, self.output, self.loss_name = sizes, activation, output, loss
        self.weights = [w.copy() for w in weights]
        self.biases = [b.copy() for b in biases]
        # the mini-batch optimizers' state (velocities; Adam's moments; iRPROP-'s last gradients and step
        # sizes), and the count of steps
        self.first = [np.zeros_like(p) for p in self.weights + self.biases]
        self.second = [np.zeros_like(p) for p in self.weights + self.biases]
        self.t = 0

    @classmethod
    def of(cls, net):
        """A reference with a tinynet.Network's configuration and parameters."""
        return cls(net.sizes, net.activation, net.output, net.loss_name, net.weights, net.biases)

    def flat(self):
        """The parameters as tinynet lays them out: each layer's weights (row per neuron), its biases."""
        return np.concatenate([np.concatenate([w.ravel(), b]) for w, b in zip(self.weights, self.biases)])

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

    def batch_gradient(self, X, Y, alpha):
        """A batch's gradient: (the sum of the per-sample gradients + alpha W) / B for the weights, the
        sum / B for the biases (weights first, then biases, layer by layer)."""
        acts = [X]
        for layer, (w, b) in enumerate(zip(self.weights, self.biases)):
            last = layer == len(self.weights) - 1
            acts.append(activate(self.output if last else self.activation, acts[-1] @ w.T + b))
        A, n_out = acts[-1], Y.shape[1]
        if self.loss_name == "mse":
            dA = -2 * (Y - A) / n_out
            if self.output == "softmax":
                delta = A * (dA - (dA * A).sum(axis=1, keepdims=True))
            else:
                delta = dA * derivative(self.output, A)
        else:
            delta = (A - Y) / n_out if self.output == "sigmoid" else A - Y
        g_w, g_b = [None] * len(self.weights), [None] * len(self.weights)
        for layer in range(len(self.weights) - 1, -1, -1):
            g_w[layer] = (delta.T @ acts[layer] + alpha * self.weights[layer]) / len(X)
            g_b[layer] = delta.sum(axis=0) / len(X)
            if layer:
                delta = (delta @ self.weights[layer]) * derivative(self.activation, acts[layer])
        return g_w + g_b

    def train_batches(self, X, Y, epochs, batch_size, optimizer="sgd", learn_rate=0.1, momentum=0.0,
                      nesterov=False, alpha=0.0, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        """Mini-batch training in order: Adam (scikit-learn's form, lr_t folded in), SGD with
        (Nesterov) momentum, or iRPROP- (Igel and Huesken; full batch: batch_size None; FANN's
        constants); the optimizer's state persists across calls."""
        params = self.weights + self.biases
        if optimizer == "irprop":
            batch_size = len(X)
            if self.t == 0:             # every step size starts at 0.1
                self.second = [np.full_like(p, 0.1) for p in params]
        for _ in range(epochs):
            for lo in range(0, len(X), batch_size):
                grads = self.batch_gradient(X[lo:lo + batch_size], Y[lo:lo + batch_size], alpha)
                self.t += 1
                if optimizer == "adam":
                    lr_t = learn_rate * math.sqrt(1 - beta_2 ** self.t) / (1 - beta_1 ** self.t)
                for k, (p, g) in enumerate(zip(params, grads)):
                    if optimizer == "irprop":
                        product = self.first[k] * g
                        self.second[k] = np.where(product > 0, np.minimum(self.second[k] * 1.2, 50.0),
                                                  np.where(product < 0, np.maximum(self.second[k] * 0.5, 0.0),
                                                           self.second[k]))
                        self.first[k] = np.where(product < 0, 0.0, g)
                        p -= np.sign(self.first[k]) * self.second[k]
                    elif optimizer == "adam":
                        self.first[k] = beta_1 * self.first[k] + (1 - beta_1) * g
                        self.second[k] = beta_2 * self.second[k] + (1 - beta_2) * g * g
                        p += -lr_t * self.first[k] / (np.sqrt(self.second[k]) + epsilon)
                    else:
                        self.first[k] = momentum * self.first[k] - learn_rate * g
                        p += momentum * self.first[k] - learn_rate * g if nesterov else self.first[k]
