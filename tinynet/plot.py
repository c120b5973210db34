"""Pictures of a network: its loss curve and its decision regions on the input plane (matplotlib).

Needs matplotlib: ``pip install 'tinynet[plot]'``. Both functions draw on a matplotlib ``Axes``
(a new figure's when none is given) and return it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from ._data import EMILY, FRANK, NAMES, tutorial_data
from ._tutorial import OurNeuralNetwork
from ._validation import as_count, as_features, as_real

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["decision_boundary", "loss_curve", "tutorial_figure"]

#: decision_boundary's largest grid: 4096 x 4096 points (16.8 million predictions).
MAX_RESOLUTION = 4096


def _matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError("tinynet.plot needs matplotlib: pip install 'tinynet[plot]' "
                          "(or pip install matplotlib)") from None


def _new_axes() -> Axes:
    from matplotlib import pyplot

    return pyplot.figure().add_subplot()


def loss_curve(history: Any | Iterable[tuple[int, float]], ax: Axes | None = None,
               label: str | None = None) -> Axes:
    """Plot the loss against the epoch.

    Parameters
    ----------
    history : OurNeuralNetwork or sequence of (epoch, loss)
        A trained network (its ``loss_history``) or the pairs themselves.
    ax : matplotlib.axes.Axes, optional
    label : str, optional
        The curve's legend label.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ImportError
        If matplotlib is not installed.
    ValueError
        If there is nothing to plot (train with ``loss_every`` > 0 to record losses).
    """
    _matplotlib()
    pairs = list(getattr(history, "loss_history", history))
    if not pairs:
        raise ValueError("no losses to plot: train with loss_every > 0 (the default records every 10 epochs)")
    epochs, losses = zip(*pairs)
    ax = ax if ax is not None else _new_axes()
    ax.plot(epochs, losses, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (mean squared error)")
    ax.set_title("Training loss")
    if label is not None:
        ax.legend()
    return ax


def decision_boundary(net: Any, data: ArrayLike, labels: Sequence[float] | None = None,
                      names: Sequence[str] | None = None, ax: Axes | None = None,
                      resolution: int = 200, margin: float = 0.15, cmap: str = "coolwarm") -> Axes:
    """Shade the input plane by the network's output, with the samples on top.

    Parameters
    ----------
    net : object with ``predict``
        An ``OurNeuralNetwork``, or any model whose ``predict`` maps an (n, 2) array to n outputs.
    data : array_like, shape (n, 2)
        The samples to show; they also set the extent of the plane (plus ``margin`` on each side).
    labels : array_like, shape (n,), optional
        Their labels (0 or 1), shown as the points' colours.
    names : sequence of str, optional
        Their names, written beside the points.
    ax : matplotlib.axes.Axes, optional
    resolution : int
        Grid points along each axis, 2 to 4096.
    margin : float
        Extra room around the samples, as a fraction of their range (>= 0).
    cmap : str
        The colour map of the output (0 to 1).

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ImportError
        If matplotlib is not installed.
    TypeError, ValueError
        If ``data`` is not an (n, 2) array of finite numbers, ``labels``/``names`` do not match it,
        ``resolution`` or ``margin`` is out of range, the plane around the samples does not fit in
        float64, or ``net`` does not map 2 inputs to one output (a ``Network`` of sizes (2, ..., 1)).
    """
    _matplotlib()
    points = as_features(data)
    if labels is not None and len(labels) != len(points):
        raise ValueError(f"labels has {len(labels)} entries but data has {len(points)} samples")
    if names is not None and len(names) != len(points):
        raise ValueError(f"names has {len(names)} entries but data has {len(points)} samples")
    resolution = as_count(resolution, "resolution", minimum=2)
    if resolution > MAX_RESOLUTION:
        raise ValueError(f"resolution must be at most {MAX_RESOLUTION} (grid points along each axis), "
                         f"got {resolution}")
    margin = as_real(margin, "margin")
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin!r}")
    sizes = getattr(net, "sizes", None)
    if sizes is not None and (sizes[0] != 2 or sizes[-1] != 1):
        raise ValueError(f"decision_boundary shades the plane of a network's 2 inputs by its one output; "
                         f"this network has sizes {tuple(sizes)}")
    low, high = points.min(axis=0), points.max(axis=0)
    with np.errstate(over="ignore", invalid="ignore"):
        pad = np.maximum(high - low, 1.0) * margin
        extent = np.array([low - pad, high + pad])
    if not np.isfinite(extent).all():
        raise ValueError(f"data spans too wide a range to plot: the plane around it, with margin "
                         f"{margin}, exceeds the range of float64 (columns from {low.tolist()} to "
                         f"{high.tolist()})")
    xs = np.linspace(extent[0, 0], extent[1, 0], resolution)
    ys = np.linspace(extent[0, 1], extent[1, 1], resolution)
    grid_x, grid_y = np.meshgrid(xs, ys)
    outputs = np.asarray(net.predict(np.column_stack([grid_x.ravel(), grid_y.ravel()])), dtype=float)
    if outputs.size != grid_x.size:
        raise ValueError(f"decision_boundary shades the plane by one output per point, but net.predict "
                         f"gave shape {outputs.shape} for {grid_x.size} points")
    outputs = outputs.reshape(grid_x.shape)

    ax = ax if ax is not None else _new_axes()
    mesh = ax.pcolormesh(grid_x, grid_y, outputs, cmap=cmap, vmin=0.0, vmax=1.0, shading="auto")
    ax.contour(grid_x, grid_y, outputs, levels=[0.5], colors="black", linewidths=1)
    ax.figure.colorbar(mesh, ax=ax, label="network output")
    colours = "white" if labels is None else [_colour(cmap, value) for value in labels]
    ax.scatter(points[:, 0], points[:, 1], c=colours, edgecolors="black", s=60, zorder=3)
    for (x, y), name in zip(points, names if names is not None else ()):
        ax.annotate(name, (x, y), textcoords="offset points", xytext=(6, 6), zorder=4)
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(ys[0], ys[-1])
    return ax


def _colour(cmap: str, value: float) -> Any:
    """The colour of ``value`` (0 to 1) in the colour map named ``cmap``."""
    from matplotlib import colormaps

    return colormaps[cmap](float(value))


def tutorial_figure(seed: int = 0) -> Figure:
    """Train the tutorial's network and draw its decision regions and loss curve side by side.

    Alice, Bob, Charlie and Diana (the training data) are drawn in their labels' colours, edged in
    white; Emily and Frank (the tutorial's predictions) in white, the shading under them being the
    prediction.

    Returns
    -------
    matplotlib.figure.Figure
    """
    _matplotlib()
    from matplotlib.figure import Figure


    data, y = tutorial_data()
    np.random.seed(seed)
    net = OurNeuralNetwork()
    net.train(data, y, verbose=False)
    figure = Figure(figsize=(11, 4.5), layout="constrained")
    left, right = figure.subplots(1, 2, width_ratios=[1.2, 1])
    people = np.vstack([data, [EMILY, FRANK]])
    decision_boundary(net, people, names=[*NAMES, "Emily", "Frank"], ax=left)
    left.scatter(data[:, 0], data[:, 1], c=[_colour("coolwarm", v) for v in y],
                 edgecolors="white", linewidths=1.5, s=70, zorder=3)
    left.set_xlabel("weight - 135 (lb)")
    left.set_ylabel("height - 66 (in)")
    left.set_title("Network output: 1 = female, 0 = male")
    loss_curve(net, ax=right)
    figure.suptitle(f"The tutorial's network after 1000 epochs (np.random.seed({seed}), "
                    f"backend {net.backend!r})")
    return figure
