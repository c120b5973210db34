"""The per-element rules of ``tinynet.Network``, written once for every backend: each activation and
its derivative, with the table that names their codes, and the losses' terms and output gradients.

Each rule is a small function of floats, written in the subset of Python that the three backends
share: arithmetic, comparisons, conditional expressions, ``if``/``return``, assignments to local
names, and calls of other rules and of the helpers below. From this one text:

* the pure-Python backend calls these functions, bound to its helpers (:func:`compiled`: their code,
  with a backend's helpers as their globals);
* the Numba backend compiles the same functions, bound to its own helpers;
* the Cython extension includes ``_rules.pxi``, which ``tools/gen_rules.py`` writes from this file's
  syntax tree: each rule a ``cdef inline double`` function of the same name with a leading
  underscore, each helper the extension's own (a test checks that the file is current).

The helpers are tinynet's ``exp`` and ``exp_minus_one`` (the same bits in every backend),
``copysign`` and ``abs`` (exact everywhere). A rule's arithmetic is evaluated as written, left to
right, in every backend (no FMA, no reordering), which is what makes their results identical bit for
bit.

**float32.** The same text gives every rule's float32 form (:func:`float32_tree`): each operation's
result rounded to float32 (a call ``R(...)``) and each number written in the rule taken in float32
(``F(...)``), the constants their float32 values (:func:`constants32`) and the helpers each backend's
float32 ones. The hyperparameters (the options of :data:`STEP_OPTIONS`) come in double and are taken
in float32 where they are used, but their own arithmetic (Adam's ``1 - beta_2``) is done in double and
rounded once, as numpy, scikit-learn, PyTorch and JAX do a Python float's: float32(0.001), where a
float32 subtraction would give 1 - float32(0.999) = 0.00099998713. Rounding a float64 ``+ - * /`` or
``sqrt`` of float32 values to float32 gives float32's own operation (53 >= 2 * 24 + 2: the double
rounding is innocuous), so the pure-Python backend (``R``: its ``round32``), Numba (``np.float32``),
each through its ``rules32()``, and the extension (C's float arithmetic, written by
tools/gen_rules.py) compute the same bits, those of numpy's float32 arithmetic (tests/test_rules.py).

The functions over the codes (``activate``, ``derivative``, their loops over arrays, and the check
of the codes that every kernel makes first) are generated from :data:`ACTIVATIONS` too
(:func:`dispatcher_source`): a code that is not in the table fails loudly (``ValueError``) instead of
computing something. The loops that apply the rules (over neurons, tiles and lanes) stay each
backend's own.
"""

from __future__ import annotations

import ast
import copy
import inspect
import math
import textwrap
import types
from collections.abc import Callable
from math import copysign, log, log1p, sqrt
from typing import Any, NamedTuple

import numpy as np

from ._codes import (
    ADAM,
    CROSS_ENTROPY,
    EXP,
    IDENTITY,
    LOG_EPS,
    LOG_LOSS,
    MSE,
    POISSON,
    RELU,
    SGD,
    SIGMOID,
    SOFTMAX,
    SQUARED_ERROR,
    TANH,
)

__all__ = [
    "ACTIVATIONS",
    "CHECKS",
    "DISPATCHERS",
    "HELPERS",
    "HELPERS32",
    "HIDDEN",
    "INITS_OF",
    "LOSS_CODES",
    "OPTIMIZER_CODES",
    "Activation",
    "adam_step_sizes",
    "compiled",
    "constants",
    "constants32",
    "dispatcher_source",
    "float32_tree",
    "rules",
]

#: The helpers a rule may call, beyond other rules (each backend supplies its own of each).
HELPERS = ("abs", "copysign", "exp", "exp_minus_one", "log", "log1p", "sqrt")
#: ... and in the rules' float32 forms, also these: R(x), x rounded to float32 (each operation's
#: result), and F(c), the number c in float32.
HELPERS32 = (*HELPERS, "R", "F")


def _unbound(x: float) -> float:
    raise RuntimeError("the rules' exp is each backend's own: call them through a backend's RULES "
                       "(_rules.compiled)")


# tinynet's exp and e^x - 1 are each backend's own, bound by compiled() (this module imports no
# backend, so that every backend can import it); here, placeholders. (log and log1p, the C library's,
# appear only in reported loss values, never in training.)
exp: Callable[[float], float] = _unbound
exp_minus_one: Callable[[float], float] = _unbound


# --- activations f(s) and their derivatives f'(s), the latter from the value a = f(s) ------------


def identity(s):
    return s


def identity_prime(a):
    return 1.0


def sigmoid_from_exp(e):
    """The sigmoid from e = e^(-s): the loops that compute many exps at once (in vector instructions)
    finish the sigmoid with this."""
    return 1.0 / (1.0 + e)


def sigmoid(s):
    """1 / (1 + e^(-s)); 0.0 where e^(-s) overflows to inf."""
    return sigmoid_from_exp(exp(-s))


def sigmoid_prime(a):
    return a * (1 - a)


def tanh(s):
    """tanh(s) from tinynet's exp, with s's sign: for |s| < 0.345, -m / (2 + m) with m = e^(-2|s|) - 1
    (accurate near 0: there e^(-2|s|) > 0.5, where scale - 1 is exact); beyond, 1 - 2 / (e^(2|s|) + 1);
    +-1 beyond |s| = 22 (tanh rounds to +-1 from 19.1 on), and NaN for NaN. Within 1.9 ulp (measured
    against mpmath; the C library's, 2.1 ulp)."""
    a = abs(s)
    if not a <= 22.0:
        return s if s != s else copysign(1.0, s)
    if a < 0.345:
        m = exp_minus_one(-2.0 * a)
        return copysign(-m / (2.0 + m), s)
    return copysign(1.0 - 2.0 / (exp(2.0 * a) + 1.0), s)


def tanh_prime(a):
    return 1 - a * a


def relu(s):
    return s if s > 0.0 else 0.0


def relu_prime(a):
    return 1.0 if a > 0.0 else 0.0


#: The slope of leaky_relu below 0 (PyTorch's and ONNX's default).
LEAKY_SLOPE = 0.01


def leaky_relu(s):
    return s if s > 0.0 else LEAKY_SLOPE * s


def leaky_relu_prime(a):
    return 1.0 if a > 0.0 else LEAKY_SLOPE


def exponential(s):
    """e^s: the Poisson loss's output (scikit-learn's); its derivative is never taken (the loss's
    gradient at the sums is a - y)."""
    return exp(s)


# --- losses: each sample's terms of the loss values reported, and the gradients at the outputs ------


def xlogy(x, y):
    """x * log(y), and 0 where x is 0 and y is not NaN (as scipy's xlogy)."""
    return 0.0 if x == 0.0 and y == y else x * log(y)


def softplus(x):
    """log(1 + e^x), without overflow."""
    return (x if x > 0.0 else 0.0) + log1p(exp(-abs(x)))


def error_squared(y, a):
    e = y - a
    return e * e


def binary_cross_entropy(y, s):
    """-(y log f(s) + (1 - y) log(1 - f(s))) for the sigmoid f, from the sum s, stably."""
    return y * softplus(-s) + (1 - y) * softplus(s)


def poisson_deviance(y, a):
    """Half the Poisson deviance's term: y log(y / a) - y + a."""
    return xlogy(y, y / a) - y + a


def clipped(a):
    """A probability clipped to [LOG_EPS, 1 - LOG_EPS], as scikit-learn's log-loss clips it."""
    c = LOG_EPS if a < LOG_EPS else a
    return 1 - LOG_EPS if c > 1 - LOG_EPS else c


def binary_log_likelihood(y, c):
    """y log c + (1 - y) log(1 - c), of a clipped probability c."""
    return xlogy(y, c) + xlogy(1 - y, 1 - c)


def mse_gradient(y, a, n_out):
    """dL/da of the mean over n_out outputs of the squared error."""
    return -2 * (y - a) / n_out


def mean_output_error(y, a, n_out):
    """dL/ds of the binary cross-entropy's mean over n_out sigmoid outputs."""
    return (a - y) / n_out


# --- optimizers: each parameter p's step from its batch's gradient g (the mean, L2 included) -------


def sgd(p, g, learn_rate):
    """Plain SGD's step. (The per-sample kernels, which fold the learning rate into each neuron's
    error g_i, take a weight's step as sgd(w, a_j * f'_i, g_i), a bias's as sgd(b, f'_i, g_i).)"""
    return p - learn_rate * g


def velocity(m, g, momentum, learn_rate):
    """SGD's velocity from the last one, m (scikit-learn's); from the new velocity, also Nesterov's
    step. (Per sample, velocity(v, a_j * f'_i, momentum, g_i), as for :func:`sgd`.)"""
    return momentum * m - learn_rate * g


def adam_first(m, g, beta_1):
    """Adam's first moment, from the last one."""
    return beta_1 * m + (1 - beta_1) * g


def adam_second(v, g, beta_2):
    """Adam's second moment, from the last one."""
    return beta_2 * v + (1 - beta_2) * (g * g)


def adam(p, m, v, lr_t, epsilon):
    """Adam's step from the new moments, with the step's size lr_t (:func:`adam_step_sizes`)."""
    return p + -lr_t * m / (sqrt(v) + epsilon)


#: iRPROP-'s constants, FANN's defaults: its step sizes grow by RPROP_INCREASE while a gradient keeps
#: its sign and shrink by RPROP_DECREASE when it flips, within [RPROP_DELTA_MIN, RPROP_DELTA_MAX];
#: each starts at RPROP_DELTA_ZERO.
RPROP_INCREASE = 1.2
RPROP_DECREASE = 0.5
RPROP_DELTA_MIN = 0.0
RPROP_DELTA_MAX = 50.0
RPROP_DELTA_ZERO = 0.1


def irprop_delta(delta, g, g_last):
    """iRPROP-'s new step size of a parameter, from its last one, its gradient g and the gradient it
    remembers, g_last (Igel and Huesken 2000): larger while the sign holds, smaller when it flips."""
    t = g_last * g
    if t > 0.0:
        d = delta * RPROP_INCREASE
        return RPROP_DELTA_MAX if d > RPROP_DELTA_MAX else d
    if t < 0.0:
        d = delta * RPROP_DECREASE
        return RPROP_DELTA_MIN if d < RPROP_DELTA_MIN else d
    return delta


def irprop_gradient(g, g_last):
    """The gradient iRPROP- remembers: 0 where the sign flipped (that step is skipped, and the next
    neither grows nor shrinks the step size), else g."""
    return 0.0 if g_last * g < 0.0 else g


def irprop(p, g, delta):
    """iRPROP-'s step: by delta, against the sign of the gradient it remembers (none where that is
    0)."""
    return p - delta if g > 0.0 else (p + delta if g < 0.0 else p)


class Activation(NamedTuple):
    """One activation of the table.

    ``name``: what ``Network(activation=...)`` calls it, or None where Network's hidden layers do not
    offer it. ``code``: what the kernels call it (``tinynet._codes`` names those the kernels' loops
    refer to; the others are only here). ``value``, ``prime``: f and f' (None where f' is never
    taken). ``onnx``: f as ONNX nodes, each ``(operator, inputs)``, an input being ``"x"`` (f's
    input), an int (the output of that earlier node) or a float (a float64 constant). ``init``: the
    initialisation ``Network(init="auto")`` gives it.
    """

    name: str | None
    code: int
    value: Any
    prime: Any
    onnx: tuple[tuple[str, tuple[Any, ...]], ...]
    init: str = "glorot"


#: Every elementwise activation. (Softmax is a whole layer's, computed by each backend's loops from
#: ``exp``.)
ACTIVATIONS = (
    Activation("sigmoid", SIGMOID, sigmoid, sigmoid_prime, (("Sigmoid", ("x",)),)),
    Activation("tanh", TANH, tanh, tanh_prime, (("Tanh", ("x",)),)),
    Activation("relu", RELU, relu, relu_prime, (("Relu", ("x",)),), init="he"),
    Activation("leaky_relu", 6, leaky_relu, leaky_relu_prime,
               (("Mul", ("x", LEAKY_SLOPE)), ("Max", ("x", 0))), init="he"),
    Activation(None, IDENTITY, identity, identity_prime, (("Identity", ("x",)),)),
    Activation(None, EXP, exponential, None, (("Exp", ("x",)),)),
)

#: The loss codes the kernels know.
LOSS_CODES = (MSE, CROSS_ENTROPY, SQUARED_ERROR, LOG_LOSS, POISSON)


class Step(NamedTuple):
    """One step of the table: what the batch kernels do to each parameter ``p`` from its batch's
    gradient ``g`` (the mean, L2 included), with its optimizer's two numbers of state ``m`` and ``v``.

    ``name``: the step's. ``code``: what the kernels call it (their ``optimizer`` argument).
    ``statements``: assignments done in order, each ``(target, expression)``, the target one of
    ``p``, ``m``, ``v``; an expression is arithmetic over ``p``, ``m``, ``v`` (their values so far),
    ``g``, the options :data:`STEP_OPTIONS` and calls of rules. Every backend's loop does these
    statements for each parameter (tools/gen_rules.py writes them in C for the extension's tiles).
    ``per_sample``: the per-sample kernels (``net_train``, ``net_train_many``) take this step too,
    in their own arithmetic (the learning rate folded into each neuron's error).
    """

    name: str
    code: int
    statements: tuple[tuple[str, str], ...]
    per_sample: bool = False


#: The numbers, beyond the parameter's own, that a step may use: the same for every parameter of a
#: batch (``lr_t``, Adam's step size, changes from batch to batch).
STEP_OPTIONS = ("learn_rate", "momentum", "beta_1", "beta_2", "epsilon", "lr_t")

#: Every optimizer step of the batch kernels.
STEPS = (
    Step("sgd", SGD, (("p", "sgd(p, g, learn_rate)"),), per_sample=True),
    Step("momentum", 2, (("m", "velocity(m, g, momentum, learn_rate)"), ("p", "p + m")), per_sample=True),
    Step("nesterov", 3, (("m", "velocity(m, g, momentum, learn_rate)"),
                         ("p", "p + velocity(m, g, momentum, learn_rate)"))),
    Step("adam", ADAM, (("m", "adam_first(m, g, beta_1)"), ("v", "adam_second(v, g, beta_2)"),
                        ("p", "adam(p, m, v, lr_t, epsilon)"))),
    Step("irprop", 4, (("v", "irprop_delta(v, g, m)"), ("m", "irprop_gradient(g, m)"),
                       ("p", "irprop(p, m, v)"))),
)
OPTIMIZER_CODES = tuple(step.code for step in STEPS)
STEP_OF = {step.name: step for step in STEPS}


#: The options record of the batch kernels (``net_train_batch``, ``net_gradient``): one numpy record
#: (a structured array of one element) with these named fields, rather than a row of positional
#: numbers that a caller could swap unseen. ``optimizer``: the step's code; the step's options
#: (:data:`STEP_OPTIONS`, but ``lr_t``, which changes from batch to batch); ``alpha``, the L2 penalty.
#: Built by :func:`kernel_options` alone; the extension reads it as a C struct of the same fields
#: (``_rules.pxi``), Numba as a record, the pure-Python backend by name.
KERNEL_OPTIONS = np.dtype([("optimizer", np.int64), ("batch_size", np.int64), ("learn_rate", np.float64),
                           ("momentum", np.float64), ("beta_1", np.float64), ("beta_2", np.float64),
                           ("epsilon", np.float64), ("alpha", np.float64)])
_OPTION_NAMES: tuple[str, ...] = KERNEL_OPTIONS.names or ()


def kernel_options(*, optimizer="sgd", batch_size=1, learn_rate=0.0, momentum=0.0, nesterov=False,
                   alpha=0.0, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
    """The batch kernels' options record, by name: ``optimizer`` is the optimizer's name
    (:data:`OPTIMIZERS`), its step's code chosen with ``momentum`` and ``nesterov``
    (:func:`step_code`). The values are taken as given (the callers check them first)."""
    values = {"optimizer": step_code(optimizer, momentum, nesterov), "batch_size": batch_size,
              "learn_rate": learn_rate, "momentum": momentum, "beta_1": beta_1, "beta_2": beta_2,
              "epsilon": epsilon, "alpha": alpha}
    # (one record made from its fields' values in order: a fifth of the time of setting them one by one)
    return np.array([tuple(values[name] for name in _OPTION_NAMES)], dtype=KERNEL_OPTIONS)


def options_dict(options):
    """An options record's fields as a dict of Python numbers (the pure-Python backend's form of it,
    which ``step_each`` reads by the same names as Numba reads the record)."""
    return {name: options[0][name].item() for name in options.dtype.names}


class Optimizer(NamedTuple):
    """One optimizer of ``Network.train``.

    ``name``: its ``optimizer=``; ``label``: its name in messages. ``options``: the keywords of
    ``train`` it takes beyond ``learn_rate`` (the others must keep their defaults). ``state``: its
    numbers of state per parameter, ``m`` then ``v``, each ``(name, initial value, least value or
    None)``, the names as ``Network.optimizer_state`` gives them. ``full_batch``: it steps once per
    epoch, on the gradient of all the samples (``batch_size`` is not its to choose). Its step is the
    row of :data:`STEPS` of its name (for SGD, the one of its momentum: :func:`step_code`).
    """

    name: str
    label: str
    options: tuple[str, ...]
    state: tuple[tuple[str, float, float | None], ...]
    full_batch: bool = False


#: Network's optimizers.
OPTIMIZERS = (
    Optimizer("sgd", "SGD", ("momentum", "nesterov"), (("velocity", 0.0, None),)),
    Optimizer("adam", "Adam", ("beta_1", "beta_2", "epsilon"), (("m", 0.0, None), ("v", 0.0, 0.0))),
    Optimizer("irprop", "iRPROP-", (), (("gradient", 0.0, None), ("delta", RPROP_DELTA_ZERO, 0.0)),
              full_batch=True),
)
OPTIMIZER_OF = {row.name: row for row in OPTIMIZERS}


def step_code(optimizer, momentum=0.0, nesterov=False):
    """The kernels' step of an optimizer (its name): SGD's is plain, with momentum, or Nesterov's
    (plain when momentum is 0, Nesterov's or not); the others have their own."""
    if optimizer == "sgd":
        if momentum == 0.0:
            return STEP_OF["sgd"].code
        return STEP_OF["nesterov" if nesterov else "momentum"].code
    return STEP_OF[optimizer].code

#: Network's hidden activations, by name: the table's named rows; and the initialisation of each.
HIDDEN = {row.name: row.code for row in ACTIVATIONS if row.name is not None}
INITS_OF = {row.name: row.init for row in ACTIVATIONS if row.name is not None}


# --- the optimizers' step sizes, computed in Python for the kernels ---------------------------------


def adam_step_sizes(learn_rate, beta_1, beta_2, first, count):
    """Adam's step size of each of ``count`` steps from step ``first`` (counted from 1), as
    scikit-learn computes it: lr_t = learn_rate * sqrt(1 - beta_2**t) / (1 - beta_1**t), float64."""
    return np.array([learn_rate * math.sqrt(1 - beta_2**t) / (1 - beta_1**t)
                     for t in range(first, first + count)], dtype=np.float64)


#: This module's functions that are not per-element rules.
_MACHINERY = ("rules", "compiled", "constants", "constants32", "dispatcher_source", "float32_tree",
              "float32_transform", "adam_step_sizes", "step_code", "_chain", "step_source", "kernel_options",
              "options_dict")


def rules():
    """Every per-element rule of this module, in the order written: (name, function)."""
    return [(name, value) for name, value in globals().items()
            if isinstance(value, types.FunctionType) and value.__module__ == __name__
            and name not in (*_MACHINERY, *HELPERS) and not name.startswith("_")]


def constants():
    """The module's float constants that rules use (``LEAKY_SLOPE``): name -> value."""
    return {name: value for name, value in globals().items() if name.isupper() and type(value) is float}


def constants32():
    """The constants' float32 values, for the rules' float32 forms: each rounded to float32, but
    ``LOG_EPS``, float32's own machine epsilon (scikit-learn clips probabilities at their dtype's)."""
    values = {name: float(np.float32(value)) for name, value in constants().items()}
    values["LOG_EPS"] = float(np.finfo(np.float32).eps)
    return values


class _Float32(ast.NodeTransformer):
    """An expression's arithmetic in float32: each binary operation's result rounded, ``R(...)``, and
    each number written in it taken in float32, ``F(...)`` (the comparisons and conditions as they
    are). The hyperparameters (``hyper``: names given in double, the options of :data:`STEP_OPTIONS`)
    are taken in float32 where they are used, ``F(beta_1)``, but an expression of hyperparameters and
    numbers alone is computed in double and rounded once, ``F(1 - beta_2)``, as numpy, scikit-learn,
    PyTorch and JAX compute a Python float's arithmetic before it meets a float32 array; a call passes
    a hyperparameter on in double (its callee takes it in float32 where it uses it). ``in_double``
    collects the hyperparameters met in such an expression (a callee's that it must be given in
    double)."""

    def __init__(self, hyper=()):
        self.hyper = set(hyper)
        self.in_double: set[str] = set()

    def _call(self, name, node):
        return ast.copy_location(ast.Call(ast.Name(name, ast.Load()), [node], []), node)

    def _of_hyperparameters(self, node):
        """Whether an expression is arithmetic of hyperparameters (at least one) and numbers alone."""
        names = [sub for sub in ast.walk(node) if isinstance(sub, ast.Name)]
        return bool(names) and all(sub.id in self.hyper for sub in names) and all(
            isinstance(sub, (ast.BinOp, ast.UnaryOp, ast.Constant, ast.Name, ast.operator, ast.unaryop,
                             ast.expr_context)) for sub in ast.walk(node))

    def visit_BinOp(self, node):
        if self._of_hyperparameters(node):
            self.in_double.update(sub.id for sub in ast.walk(node) if isinstance(sub, ast.Name))
            return self._call("F", node)
        self.generic_visit(node)
        return self._call("R", node)

    def visit_Constant(self, node):
        if type(node.value) in (int, float):
            return self._call("F", node)
        return node

    def visit_Name(self, node):
        if node.id in self.hyper and isinstance(node.ctx, ast.Load):
            return self._call("F", node)
        return node

    def visit_Call(self, node):
        node.args = [arg if isinstance(arg, ast.Name) and arg.id in self.hyper else self.visit(arg)
                     for arg in node.args]
        return node


def float32_tree(tree, hyper=None):
    """A rule's syntax tree (or a step's expression's) in its float32 form (see the module's
    docstring): a new tree, the given one untouched. ``hyper``: the names given in double (by default,
    for a rule its parameters among :data:`STEP_OPTIONS`, for an expression every one of them)."""
    return float32_transform(tree, hyper)[0]


def float32_transform(tree, hyper=None):
    """:func:`float32_tree`'s tree, and the hyperparameters that it uses in double (in an expression
    of hyperparameters alone, such as ``1 - beta_2``): those a caller must give it in double."""
    if hyper is None:
        node = tree.body[0] if isinstance(tree, ast.Module) else tree
        params = [arg.arg for arg in node.args.args] if isinstance(node, ast.FunctionDef) else STEP_OPTIONS
        hyper = [name for name in params if name in STEP_OPTIONS]
    transform = _Float32(hyper)
    result = ast.fix_missing_locations(transform.visit(copy.deepcopy(tree)))
    return result, transform.in_double


#: The functions generated from :data:`ACTIVATIONS` (by :func:`dispatcher_source` here, and for the
#: extension by tools/gen_rules.py).
DISPATCHERS = ("activate", "derivative", "activate_each", "derivative_each", "step_each", "check_codes",
               "check_loss", "check_optimizer", "check_per_sample")
#: The checks among them, which every kernel makes first (not inlined: they raise).
CHECKS = ("check_codes", "check_loss", "check_optimizer", "check_per_sample")
#: The steps' codes that the per-sample kernels take.
PER_SAMPLE_CODES = tuple(step.code for step in STEPS if step.per_sample)


def _chain(kind, call):
    """if/elif lines over the table's rows that have a rule of ``kind``, each doing ``call(rule)``."""
    lines: list[str] = []
    for row in ACTIVATIONS:
        rule = getattr(row, kind)
        if rule is not None:
            lines += [f"    {'if' if not lines else 'elif'} code == {row.code}:    # {row.value.__name__}",
                      *[f"        {line}" for line in call(rule.__name__)]]
    return lines


#: A step's names, on element k of the arrays of step_each.
_ELEMENT = {"p": "p[k]", "m": "m[k]", "v": "v[k]", "g": "grad[k]"}


class _Elements(ast.NodeTransformer):
    """A step's expression on element ``k`` of arrays: p, m, v as ``p[k]``, ..., and g as ``grad[k]``
    (or as ``names`` maps them)."""

    def __init__(self, names):
        self.names = names

    def visit_Name(self, node):
        if node.id in self.names:
            return ast.copy_location(ast.parse(self.names[node.id], mode="eval").body, node)
        return node


def _options_of(step):
    """The options (:data:`STEP_OPTIONS`) that a step's statements use, in that order."""
    used = {node.id for _, text in step.statements for node in ast.walk(ast.parse(text, mode="eval"))
            if isinstance(node, ast.Name)}
    return [name for name in STEP_OPTIONS if name in used]


def step_source(step, names, float32=False):
    """A step's statements as Python lines, with p, m, v, g renamed by ``names`` (name -> the text
    that replaces it): the body of ``step_each``'s loops (tools/gen_rules.py writes the C from the
    same statements); with ``float32``, in their float32 form (:func:`float32_tree`)."""
    rename = _Elements(names)
    lines = []
    for target, expression in step.statements:
        tree = ast.parse(expression, mode="eval")
        if float32:
            tree = float32_tree(tree)
        lines.append(f"{names[target]} = {ast.unparse(rename.visit(tree).body)}")
    return lines


def dispatcher_source(float32=False):
    """The Python source of the functions over the codes, for the pure-Python and Numba backends:

    * ``activate(code, s)``, ``derivative(code, a)``: the rule of that code;
    * ``activate_each(code, x)``, ``derivative_each(code, a, out)``: the same over a 1-D array (in
      place; into ``out``), one loop per code, so that each loop calls one rule (and vectorises);
    * ``step_each(code, p, grad, m, v, options, lr_t)``: the step of that code (:data:`STEPS`) of
      every parameter ``p[k]`` from its gradient ``grad[k]``, in place (also in ``m`` and ``v``),
      with the options it uses read by name from ``options`` (an element of the options record, or
      a dict of its fields), ``lr_t`` Adam's step size of the batch;
    * ``check_codes(hidden, output)``: a ``ValueError`` unless the hidden layers' code has a
      derivative and the output's has a rule (or is softmax's). The kernels call it first: the
      dispatchers give NaN for a code outside the table, which they then never see;
    * ``check_loss(loss)``, ``check_optimizer(optimizer)``: the same for the loss and optimizer codes
      (:data:`LOSS_CODES`, :data:`OPTIMIZER_CODES`); ``check_per_sample(optimizer)``, for the
      per-sample kernels' (:data:`PER_SAMPLE_CODES`).

    With ``float32``, ``step_each``'s statements are in their float32 form; the options it reads
    (``lr_t`` too) go to the rules in double, which take them in float32 (``F``) where they use them
    (see :func:`float32_tree`).
    """
    known_prime = " or ".join(f"hidden == {row.code}" for row in ACTIVATIONS if row.prime is not None)
    known_value = " or ".join(f"output == {row.code}" for row in ACTIVATIONS)
    lines = ["def activate(code, s):", *_chain("value", lambda rule: [f"return {rule}(s)"]),
             "    return nan", "", "",
             "def derivative(code, a):", *_chain("prime", lambda rule: [f"return {rule}(a)"]),
             "    return nan", "", "",
             "def activate_each(code, x):",
             *_chain("value", lambda rule: ["for k in range(x.shape[0]):", f"    x[k] = {rule}(x[k])"]),
             "", "",
             "def derivative_each(code, a, out):",
             *_chain("prime", lambda rule: ["for k in range(a.shape[0]):", f"    out[k] = {rule}(a[k])"]),
             "", "",
             "def step_each(code, p, grad, m, v, options, lr_t):",
             *[line for number, step in enumerate(STEPS) for line in [
                 f"    {'if' if number == 0 else 'elif'} code == {step.code}:    # {step.name}",
                 *[f"        {name} = options['{name}']" for name in _options_of(step) if name != "lr_t"],
                 "        for k in range(len(p)):",
                 *[f"            {line}" for line in step_source(step, _ELEMENT, float32)]]],
             "", "",
             "def check_codes(hidden, output):",
             f"    if not ({known_prime}) or not ({known_value} or output == {SOFTMAX}):",
             "        raise ValueError('unknown activation code')", "", "",
             "def check_loss(loss):",
             f"    if not ({' or '.join(f'loss == {code}' for code in LOSS_CODES)}):",
             "        raise ValueError('unknown loss code')", "", "",
             "def check_optimizer(optimizer):",
             f"    if not ({' or '.join(f'optimizer == {code}' for code in OPTIMIZER_CODES)}):",
             "        raise ValueError('unknown optimizer code')", "", "",
             "def check_per_sample(optimizer):",
             f"    if not ({' or '.join(f'optimizer == {code}' for code in PER_SAMPLE_CODES)}):",
             "        raise ValueError('not a per-sample step: SGD, plain or with momentum, only')"]
    return "\n".join(lines) + "\n"


def _float32_code(function):
    """The code of a rule's float32 form (:func:`float32_tree` of its source), compiled under a name
    of its own (so that no cache takes it for the float64 rule's)."""
    tree = float32_tree(ast.parse(textwrap.dedent(inspect.getsource(function))))
    scope: dict[str, Any] = {}
    exec(compile(tree, f"<tinynet rules: float32 {function.__name__}>", "exec"), scope)
    return scope[function.__name__].__code__


def compiled(helpers, decorate=lambda function, name: function, float32=False):
    """Every rule and the functions over the codes (:data:`DISPATCHERS`) as functions whose helpers
    are ``helpers`` (a dict naming each of :data:`HELPERS`), each passed through
    ``decorate(function, name)`` (for Numba, its ``jit``): a namespace of them. The rules share one
    namespace, so each calls the others' compiled forms.

    With ``float32``, their float32 forms (see the module's docstring): ``helpers`` then names each of
    :data:`HELPERS32` (each a float32 helper; ``nan``, if given, the NaN of the functions over the
    codes), and the constants are :func:`constants32`'s."""
    missing = set(HELPERS32 if float32 else HELPERS) - set(helpers)
    if missing:
        raise ValueError(f"helpers missing: {sorted(missing)}")
    # (named as this module: Numba's cache rebuilds a function's environment from its module's name)
    namespace: dict[str, Any] = dict(nan=math.nan, **(constants32() if float32 else constants()))
    namespace.update(helpers, __name__=__name__)
    for name, function in rules():
        code = _float32_code(function) if float32 else function.__code__
        namespace[name] = decorate(types.FunctionType(code, namespace, name), name)
    source = "<tinynet rules: dispatchers" + (" float32>" if float32 else ">")
    exec(compile(dispatcher_source(float32), source, "exec"), namespace)
    for name in DISPATCHERS:
        namespace[name] = decorate(namespace[name], name)
    return types.SimpleNamespace(**{name: namespace[name] for name in
                                    [name for name, _ in rules()] + list(DISPATCHERS)})

