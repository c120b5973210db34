"""What the Python side and every backend's kernels agree on: codes, and the Network kernels' scratch.

Neutral ground: this module imports nothing of tinynet's, and everything else that needs these
numbers imports them from here (the pure-Python and Numba kernels at import time, where Numba
freezes them as compile-time constants; the Cython extension into C globals when it is imported).

Vocabulary, the same in every module: ``n`` samples, ``n_in`` and ``n_out`` neurons on the two sides
of a layer, ``n_nets`` networks trained together; ``targets`` the outputs wanted for the samples
(``y_true``, ``all_y_trues`` in the tutorial's class, as the tutorial names them); ``sums`` the
pre-activations (the tutorial's ``sum_h1``: weighted inputs plus bias), ``out_sums`` those of the
output layer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

__all__ = ["ADAM", "ALIGN", "BATCH_ROWS", "CROSS_ENTROPY", "EXP", "EXP_LANES", "IDENTITY", "LANES", "LOG_EPS",
           "LOG_LOSS", "LOSSES", "MSE", "NET_VEC", "NET_VEC32", "OUTPUT", "POISSON", "PW_BLOCKSIZE", "RELU",
           "SGD", "SIGMOID", "SOFTMAX", "SQUARED_ERROR", "STACK_SIZE", "TANH", "TILED_SAMPLES",
           "TRANSPOSE_BLOCK", "aligned_zeros", "aligned_zeros_many", "net_forward_scratch",
           "net_many_scratch", "net_room", "net_scratch", "net_work", "row_multiple"]

# Activation codes (hidden and output layers).
SIGMOID, TANH, RELU, IDENTITY, SOFTMAX, EXP = 0, 1, 2, 3, 4, 5
# Loss codes: tinynet's own (``Network``) ...
MSE, CROSS_ENTROPY = 0, 1
# ... and scikit-learn's (``tinynet.sklearn``), each with the output its link makes canonical, so that at
# the output dL/ds_i = a_i - y_i: half the squared error with an identity output, the log-loss with a
# sigmoid or softmax output, half the Poisson deviance with an exp output. Their gradients are those of
# the sums over the outputs; their values are computed from the output activations as scikit-learn
# computes them (the squared error's averaged over the outputs, the probabilities clipped to
# [LOG_EPS, 1 - LOG_EPS]). Every loss code above CROSS_ENTROPY is one of these.
SQUARED_ERROR, LOG_LOSS, POISSON = 2, 3, 4
#: Where scikit-learn clips probabilities for its log-loss: float64's machine epsilon.
LOG_EPS = float(np.finfo(np.float64).eps)
# The optimizer steps' codes that the kernels' loops refer to (every step: ``_rules.STEPS``).
SGD, ADAM = 0, 1

#: The public names of the codes, as ``Network`` takes them (its hidden activations: ``_rules.HIDDEN``;
#: its optimizers: ``_rules.OPTIMIZERS``).
OUTPUT = {"sigmoid": SIGMOID, "identity": IDENTITY, "softmax": SOFTMAX}
LOSSES = {"mse": MSE, "cross_entropy": CROSS_ENTROPY}

#: numpy's pairwise summation sums ranges of at most this many terms directly (its ``PW_BLOCKSIZE``).
PW_BLOCKSIZE = 128
#: Room for the pairwise summation's pending ranges and partial sums: ample for any n below 2**63.
STACK_SIZE = 128
#: Float64 networks stepped together, lane by lane, by ``train_many``'s compiled kernels: eight AVX2
#: vectors per operation (four of AVX-512), so that the CPU overlaps independent chains of operations.
#: The block of parameters is (9, LANES): parameter k of lane j at [k, j]. (Measured on Zen 3, v3, 64
#: networks in one process against 16 lanes: the tutorial's network in float32 0.82x the time (then
#: with 32 lanes too), in float64 0.94-0.99x; (2, 3, 1) 0.76x and 0.84x; (2, 16, 16, 1) 0.84x and
#: 0.88x; 20 networks of (2, 3, 1), in float64, 0.81x. At v2, forced, in separate processes: (2, 3, 1)
#: 0.79x and 0.84x, (2, 16, 16, 1) 0.89x and 0.94x, the tutorial's network even. On AVX-512 in
#: float64, an earlier session: 16 lanes 6.7 ns per network-step, 32 6.1-6.8.)
LANES = 32
#: ... and float32 networks' blocks (their kernels' width: the extension's and Numba's float32 kernels
#: step LANES32 networks a block; _many builds the blocks by ``lanes(dtype)``). As many networks as in
#: float64, which is half as many vectors (four AVX2 vectors of floats). Twice as many was measured and
#: not taken: on Zen 3, v3, one process alternating the two builds, 64 networks, 2,000 x 3, 64 lanes
#: took 0.90-0.94x the time of 32 on one thread ((2, 2, 1), (2, 3, 1), (2, 16, 16, 1)), but 64
#: networks then make one block, which leaves the second core idle: 1.09x, 1.27x and 1.60x the time on
#: both cores; with 128 networks on both cores 1.10x, 0.91x, 0.93x. To take the gain without the loss,
#: the kernels would have to take either width and train_many choose by the networks per worker.
LANES32 = 32
#: Values through the vectorised exp at a time: a layer's exps in the per-sample kernels (into the
#: padding of its row, whose stride is a multiple of 16 floats or 8 doubles), and a block's LANES.
EXP_LANES = 16
#: In the ``Network`` training kernels' working layout each layer's rows are padded to a multiple of
#: this many doubles (one AVX-512 vector); their sums advance up to 32 neurons at a time in registers.
NET_VEC = 8
#: ... and of float32 networks' rows, this many floats (the same 64 bytes: _tiles.h's TN_VEC32).
NET_VEC32 = 16
#: A network whose every layer has fewer neurons than this trains one sample at a time on the public
#: layout, with the tutorial's plain loops, in float64 and float32 alike: the working layout's rows
#: would be mostly padding. Wider, the working layout's vectors win, even where a float32 row (16
#: floats) is still mostly padding. Measured per sample on Zen 3 (v3), plain loops against vectors:
#: float32 (2, 4, 1) 153 against 207 ns, (2, 6, 1) 195 against 210, (2, 8, 1) 205 against 204,
#: (4, 15, 3) 384 against 269, (64, 8, 10) 539 against 409, (32, 15, 15, 2) 909 against 531; float64
#: (2, 4, 4, 1) 220 against 240. At v2 (4 floats a vector), float32: (64, 8, 10) 583-628 against
#: 525-581 ns, (32, 15, 15, 2) 984 against 716, (4, 15, 3) 349-667 against 337-586, but (2, 8, 1)
#: 190-354 against 237-428: at v2 the plain loops still win at the smallest of these networks.
NARROW = 8


#: The boundary, in bytes, on which the kernels' scratch and working arrays start, and their rows when
#: they are whole vectors: a cache line. numpy promises 16; a 32- or 64-byte vector load or store that
#: crosses a line costs two, and at 16 bytes half of a row's AVX2 accesses cross one (measured on Zen 3,
#: v3, the first layer's update of a (64, 32, 10) network per sample: 306 ns aligned, 406 ns at 16).
ALIGN = 64


def aligned_zeros(shape: int | Sequence[int], dtype: Any = np.float64) -> NDArray[Any]:
    """A C-contiguous array of zeros (float64, or ``dtype``) whose first element sits on an
    ``ALIGN``-byte boundary: a view into a slightly larger buffer."""
    return aligned_zeros_many([shape], dtype)[0]


def aligned_zeros_many(shapes: Sequence[int | Sequence[int]],
                       dtype: Any = np.float64) -> tuple[NDArray[Any], ...]:
    """:func:`aligned_zeros` of each shape, all views into one buffer, each starting on an
    ``ALIGN``-byte boundary: one allocation and one look at its address (``ctypes.data``, 3-4 us, the
    most of an allocation's cost) for the several scratch arrays of a kernel call."""
    itemsize = np.dtype(dtype).itemsize
    line = ALIGN // itemsize
    whole = [(shape,) if isinstance(shape, int) else tuple(shape) for shape in shapes]
    sizes = [math.prod(shape) for shape in whole]
    buffer = np.zeros(sum(_round_up(size, line) for size in sizes) + line, dtype=dtype)
    start = (-buffer.ctypes.data % ALIGN) // itemsize
    arrays = []
    for shape, size in zip(whole, sizes):
        arrays.append(buffer[start:start + size].reshape(shape))
        start += _round_up(size, line)
    return tuple(arrays)


def _round_up(n: int, multiple: int) -> int:
    """n rounded up to a multiple of ``multiple``."""
    return -(-n // multiple) * multiple


def _whole_lines(n: int, dtype: Any = np.float64) -> int:
    """n doubles (or elements of ``dtype``) rounded up to whole cache lines, so that every row of a 2-D
    scratch array is aligned."""
    return _round_up(n, ALIGN // np.dtype(dtype).itemsize)


def row_multiple(dtype: Any) -> int:
    """The multiple of a layer's row length (stride) in the working layout: ``NET_VEC`` doubles, or
    ``NET_VEC32`` floats for float32 networks (64 bytes either way)."""
    return NET_VEC32 if np.dtype(dtype) == np.float32 else NET_VEC


def lanes(dtype: Any) -> int:
    """The networks in one of ``train_many``'s blocks on the compiled kernels: ``LANES`` of float64
    networks, ``LANES32`` of float32 ones (the width that their kernels were compiled for)."""
    return LANES32 if np.dtype(dtype) == np.float32 else LANES


def net_scratch(sizes: Sequence[int], dtype: Any = np.float64) -> tuple[NDArray[Any], NDArray[Any],
                                                                      NDArray[Any]]:
    """The scratch room of the Network kernels, allocated once per call, outside the kernels (float64,
    or the network's ``dtype``).

    Returns
    -------
    acts : ndarray of the dtype, shape (sum(sizes),)
        Every layer's activations for one sample, inputs first, layer after layer.
    grads : ndarray of the dtype, shape (2, max(sizes) rounded up to whole cache lines)
        Two rows of ``learn_rate * dL/da`` during backpropagation: the current layer's and the
        previous layer's, swapped from layer to layer.
    out_sums : ndarray of the dtype, shape (sizes[-1],)
        The output layer's sums (pre-activations), from which the losses are computed stably.
    """
    return cast("tuple[NDArray[Any], NDArray[Any], NDArray[Any]]",
                aligned_zeros_many(_scratch_shapes(sizes, dtype), dtype))


#: The blocks (TRANSPOSE_BLOCK x TRANSPOSE_BLOCK weights) in which the compiled kernels copy a layer's
#: weights into the working layout and back, so that the rows read and those written stay in the
#: cache: a copy, whose numbers do not depend on it.
TRANSPOSE_BLOCK = 16

#: The samples from which ``net_feedforward`` and ``net_loss`` run a network with a layer of NARROW
#: neurons or more through the working layout's tiles, as training does: for fewer, its room and its
#: transposition into that layout cost more than the tiles save. (Zen 3, v3, ``predict`` of n samples,
#: the plain loops against the tiles: (64, 32, 10) 22.6 against 27.6 us at n = 1, 35.4 against 32.4 us
#: at 16; (784, 128, 10) 55 against 369 us at 1, 478 against 594 us at 16, where a sample takes 28 us
#: in the plain loops and 14 us through the tiles.)
TILED_SAMPLES = 32


def net_forward_scratch(sizes: Sequence[int], n: int, dtype: Any = np.float64) -> tuple[NDArray[Any], ...]:
    """The scratch room of ``net_feedforward`` and ``net_loss`` over ``n`` samples (zeros, float64 or
    the network's ``dtype``), from one allocation.

    Returns
    -------
    acts, out_sums : ndarray of the dtype
        As :func:`net_scratch`'s.
    work : ndarray of the dtype, shape (1, m)
        The parameters in the working layout (:func:`net_work`'s first row), through whose tiles the
        compiled kernels run the samples; shape (1, 0) where they take the plain loops (every layer
        narrower than ``NARROW``, or fewer than ``TILED_SAMPLES`` samples).
    rows : ndarray of the dtype, shape (1, largest stride), or (1, 0) with ``work``
        A layer's sums.
    """
    strides, size = _working_layout(sizes, dtype)
    if not (n >= TILED_SAMPLES and any(n_out >= NARROW for n_out in sizes[1:])):
        size = 0
    return aligned_zeros_many([sum(sizes), sizes[-1], (1, size), (1, max(strides) if size else 0)], dtype)


def _working_layout(sizes: Sequence[int], dtype: Any) -> tuple[list[int], int]:
    """Each layer's stride in the working layout (its width rounded up to a multiple of
    :func:`row_multiple`) and the layout's length: for each layer, a row per input and one of biases."""
    strides = [_round_up(n_out, row_multiple(dtype)) for n_out in sizes[1:]]
    return strides, sum((n_in + 1) * stride for n_in, stride in zip(sizes[:-1], strides))


def _scratch_shapes(sizes: Sequence[int], dtype: Any) -> list[Any]:
    return [sum(sizes), (2, _whole_lines(max(sizes), dtype)), sizes[-1]]


def net_many_scratch(sizes: Sequence[int], dtype: Any = np.float64) -> tuple[NDArray[Any], NDArray[Any],
                                                                           NDArray[Any], NDArray[Any]]:
    """The scratch room of ``net_train_many``: :func:`net_scratch`'s arrays for a block of
    :func:`lanes` networks, structure-of-arrays (element k of lane l at ``[k, l]``), and room for one network
    (float64, or the networks' ``dtype``).

    Returns
    -------
    acts : ndarray of the dtype, shape (sum(sizes), lanes)
    grads : ndarray of the dtype, shape (2, max(sizes), lanes)
    out_sums : ndarray of the dtype, shape (sizes[-1], lanes)
    single : ndarray of the dtype, shape (2 * sizes[-1],)
        One network's output activations and output sums: the compiled kernels, which compute the
        losses of a block's networks together, copy each network's there for its loss of a sample.
    """
    n = lanes(dtype)
    return cast("tuple[NDArray[Any], NDArray[Any], NDArray[Any], NDArray[Any]]", aligned_zeros_many(
        [(sum(sizes), n), (2, max(sizes), n), (sizes[-1], n), 2 * sizes[-1]], dtype))


#: Samples whose gradients the compiled batch kernels compute together (their activations, g and
#: deltas side by side in ``net_work``'s room), so that each weight's gradient stays in a register
#: across them.
BATCH_ROWS = 64


def net_work(sizes: Sequence[int], dtype: Any = np.float64,
             batch_rows: int = BATCH_ROWS) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any]]:
    """The working room of the compiled ``Network`` training kernels (zeros, float64 or the network's
    ``dtype``; the pure-Python ones ignore it).

    Returns
    -------
    work : ndarray of the dtype, shape (5, m)
        The parameters, the optimizer's two arrays and a batch's gradient in the working layout: for
        each layer, its weights input-major (a row per input, of the layer's stride: its width rounded
        up to a multiple of :func:`row_multiple`, the padding zero), then its biases (one such row); and the
        weights of the layers after the first transposed, neuron-major (a row per neuron, of its
        input's stride), through which the batch kernels send g back (row 4), and the per-sample
        kernel too where its vectors hold 8 or more (rows 2 and 3: the weights' and the velocities'
        copies, kept equal to the working rows).
    rows : ndarray of the dtype, shape (4, largest stride)
        A layer's sums (of up to four samples), and its activations' derivatives.
    room : ndarray of the dtype, shape (batch_rows, sum(sizes) + 2 * max(sizes) + largest stride,
        rounded up to whole cache lines)
        For each of a block of samples (``BATCH_ROWS`` for the batch kernels; the per-sample kernel
        uses none): its activations, its g and the previous layer's, its deltas.

    Every array starts on a cache line (``aligned_zeros``), and so does each of its rows.
    """
    return cast("tuple[NDArray[Any], NDArray[Any], NDArray[Any]]",
                aligned_zeros_many(_work_shapes(sizes, dtype, batch_rows), dtype))


def _work_shapes(sizes: Sequence[int], dtype: Any, batch_rows: int) -> list[Any]:
    strides, size = _working_layout(sizes, dtype)
    transposed = sum(n_out * stride for n_out, stride in zip(sizes[2:], strides[:-1]))
    return [(5, max(size, transposed)), (4, max(strides)),
            (batch_rows, _whole_lines(sum(sizes) + 2 * max(sizes) + max(strides), dtype))]


def net_room(sizes: Sequence[int], dtype: Any = np.float64,
             batch_rows: int = BATCH_ROWS) -> tuple[NDArray[Any], ...]:
    """:func:`net_scratch`'s three arrays and :func:`net_work`'s three, in that order (the last six
    arguments of the ``Network`` training kernels), from one allocation: ``batch_rows=0`` for the
    per-sample kernel, which uses no room."""
    return aligned_zeros_many(_scratch_shapes(sizes, dtype) + _work_shapes(sizes, dtype, batch_rows), dtype)
