"""What a training run watches between epochs: its learning-rate schedule, the loss it monitors (on a
validation set, or the training set), early stopping and the best weights.

Written once for ``Network.train``; ``train_many`` trains each network of a sweep through the same
code, so that a network stops at the same epoch, with the same bits, alone or in a sweep.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from ._training import Outcome
from ._validation import as_choice, as_count, as_flag, as_nonnegative

__all__ = ["SCHEDULES", "SweepSummary", "TrainingRecord", "Watch", "check_watch_options"]

#: The learning-rate schedules (scikit-learn's three, and cosine decay).
SCHEDULES = ("constant", "invscaling", "adaptive", "cosine")
#: ``adaptive``: the factor the rate is divided by when the monitored loss stops improving, and the
#: rate at or below which training stops instead (scikit-learn's).
ADAPTIVE_FACTOR = 5.0
ADAPTIVE_FLOOR = 1e-6
#: ``adaptive``'s patience when none is given (scikit-learn's ``n_iter_no_change``).
ADAPTIVE_PATIENCE = 10


class TrainingRecord(NamedTuple):
    """How one network's training run went (what ``Network.train`` returns; one entry of
    ``train_many``'s summary)."""

    #: The epochs run: all that were asked for, unless the network stopped early.
    epochs: int
    #: Why it stopped: ``"completed"`` (every epoch ran), ``"patience"`` (the monitored loss did not
    #: improve by more than ``tol`` for ``patience`` epochs) or ``"learning_rate"`` (``adaptive`` would
    #: have taken the rate below 1e-6).
    stopped: str
    #: The epoch (counted from 0, as ``loss_history`` counts) of the lowest monitored loss, and that loss;
    #: None when nothing was monitored.
    best_epoch: int | None
    best_loss: float | None
    #: The learning rate of the last epoch run.
    learn_rate: float


class SweepSummary(list):
    """``train_many``'s summary: one :class:`TrainingRecord` per network, in the order of the networks.

    A plain list of named tuples; :meth:`to_frame` makes a pandas DataFrame of it.
    """

    def to_frame(self) -> Any:
        """The summary as a pandas DataFrame, one row per network (needs pandas).

        Raises
        ------
        ImportError
            If pandas is not installed.
        """
        try:
            import pandas as pd  # type: ignore[import-untyped]
        except ImportError:
            raise ImportError("SweepSummary.to_frame() needs pandas: pip install pandas") from None
        return pd.DataFrame(list(self), columns=list(TrainingRecord._fields))


def check_watch_options(schedule: Any, power_t: Any, patience: Any, tol: Any,
                        restore_best: Any) -> dict[str, Any]:
    """The watch's options of ``train``, checked: TypeError or ValueError naming the one refused."""
    return {"schedule": as_choice(schedule, SCHEDULES, "schedule"),
            "power_t": as_nonnegative(power_t, "power_t"),
            "patience": None if patience is None else as_count(patience, "patience", minimum=1),
            "tol": as_nonnegative(tol, "tol"), "restore_best": as_flag(restore_best, "restore_best")}


class Watch:
    """One run's bookkeeping between epochs (the run steps one epoch at a time when it has any).

    The rate of epoch ``e`` (from 0) of a run of ``E`` epochs over ``N`` samples, from ``learn_rate``:

    * ``constant``: ``learn_rate``;
    * ``invscaling``: ``learn_rate / (e * N + 1) ** power_t`` (scikit-learn's, its time step being the
      samples seen before the epoch);
    * ``cosine``: ``learn_rate * 0.5 * (1 + cos(pi * e / E))``;
    * ``adaptive``: ``learn_rate``, divided by 5 each time the monitored loss has not improved for
      ``patience`` epochs (10 when None); when the rate is already at most 1e-6, training stops instead.

    The monitored loss (``monitor(params)``, after every epoch: the validation loss, or the training
    loss) improves when it is at most the best so far minus ``tol`` (scikit-learn's test, for a loss);
    after ``patience`` epochs in a row without improvement the run stops (``adaptive`` lowers its rate
    instead). A NaN loss never improves. The best loss is the lowest seen; with ``restore_best`` its
    parameters are kept and brought back at the end.
    """

    def __init__(self, learn_rate: float, epochs: int, n_samples: int, options: dict[str, Any],
                 monitor: Callable[[np.ndarray], float] | None, history: list[tuple[int, float]]) -> None:
        self.learn_rate = learn_rate
        self.rate = learn_rate
        self.epochs = epochs
        self.n_samples = n_samples
        self.schedule = options["schedule"]
        self.power_t = options["power_t"]
        self.patience = options["patience"]
        if self.schedule == "adaptive" and self.patience is None:
            self.patience = ADAPTIVE_PATIENCE
        self.tol = options["tol"]
        self.restore_best = options["restore_best"]
        self.monitor = monitor
        self.history = history
        self.best_loss = math.inf
        self.best_epoch: int | None = None
        self.best_params: np.ndarray | None = None
        self.bad_epochs = 0
        self.stopped = "completed"

    def rate_of(self, epoch: int) -> float:
        """The learning rate of ``epoch``: set before the epoch runs."""
        if self.schedule == "invscaling":
            self.rate = self.learn_rate / (epoch * self.n_samples + 1) ** self.power_t
        elif self.schedule == "cosine":
            self.rate = self.learn_rate * 0.5 * (1.0 + math.cos(math.pi * epoch / self.epochs))
        return self.rate

    def __call__(self, epoch: int, params: np.ndarray) -> bool:
        """After ``epoch``: monitor the loss at ``params``; True to stop the run here."""
        if self.monitor is None:
            return False
        loss = self.monitor(params)
        self.history.append((epoch, loss))
        if loss <= self.best_loss - self.tol:
            self.bad_epochs = 0
        else:                                   # NaN too
            self.bad_epochs += 1
        if loss < self.best_loss:
            self.best_loss, self.best_epoch = loss, epoch
            if self.restore_best:
                self.best_params = params.copy()
        if self.patience is None or self.bad_epochs < self.patience:
            return False
        if self.schedule == "adaptive" and self.rate > ADAPTIVE_FLOOR:
            self.rate /= ADAPTIVE_FACTOR
            self.bad_epochs = 0
            return False
        self.stopped = "learning_rate" if self.schedule == "adaptive" else "patience"
        return True

    def finish(self, params: np.ndarray, outcome: Outcome) -> TrainingRecord:
        """The end of the run: bring back the best parameters if asked; the run's record."""
        if self.best_params is not None:
            params[...] = self.best_params
        found = self.best_epoch is not None
        return TrainingRecord(outcome.epochs, self.stopped, self.best_epoch,
                              self.best_loss if found else None, self.rate)
