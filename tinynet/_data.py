"""The tutorial's data: its four people, Emily and Frank, and made-up people like them, at any number."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["EMILY", "FRANK", "NAMES", "synthetic_data", "tutorial_data"]

#: The tutorial's people, in the order of :func:`tutorial_data`.
NAMES = ("Alice", "Bob", "Charlie", "Diana")
#: The tutorial's two predictions: 128 pounds, 63 inches (female) and 155 pounds, 68 inches (male).
EMILY = (-7, -3)
FRANK = (20, 2)


def tutorial_data() -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The tutorial's four people: (weight - 135 lb, height - 66 in), and 1 for female."""
    data = np.array([[-2.0, -1.0], [25.0, 6.0], [17.0, 4.0], [-15.0, -6.0]])
    return data, np.array([1.0, 0.0, 0.0, 1.0])


def synthetic_data(n: int, seed: int = 0) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """n made-up people like the tutorial's: weight and height, centred as there, 1 for female."""
    rng = np.random.default_rng(seed)
    female = rng.random(n) < 0.5
    weight = np.where(female, rng.normal(135, 15, n), rng.normal(175, 20, n))
    height = np.where(female, rng.normal(64.5, 2.5, n), rng.normal(70, 3, n))
    return np.column_stack([weight - 135, height - 66]), female.astype(np.float64)
