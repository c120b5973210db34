"""tinynet: small neural networks trained per sample by compiled kernels, bit for bit alike everywhere.

``from tinynet import OurNeuralNetwork`` is a drop-in for the class of the tutorial "Machine Learning
for Beginners: An Introduction to Neural Networks": the same starting weights, the same printed lines,
the same results, computed by a Cython or Numba kernel (or, on request, pure Python). ``Network``
trains fully connected networks of any layer sizes on the same backends, and ``train_many`` trains
many networks at once (sweeps of seeds and hyperparameters, each network stopping on its own);
``tinynet.sklearn`` (imported on its own, it needs scikit-learn) has scikit-learn's ``MLPClassifier``
and ``MLPRegressor`` with their epochs on the same kernels. All backends give bit-identical results;
``exp`` is tinynet's own exponential, the one every kernel uses, which gives the same bits on every
machine.
"""

from ._backend import available_backends, show_config
from ._exp import exp
from ._many import train_many
from ._network import Network
from ._tutorial import PARAM_NAMES, OurNeuralNetwork
from ._version import __version__
from ._watch import SweepSummary, TrainingRecord

__all__ = ["PARAM_NAMES", "Network", "OurNeuralNetwork", "SweepSummary", "TrainingRecord", "__version__",
           "available_backends", "exp", "show_config", "train_many"]
