"""tinynet: the tutorial's 2-2-1 sigmoid network, trained per sample by compiled kernels.

``from tinynet import OurNeuralNetwork`` is a drop-in for the class of the tutorial "Machine Learning
for Beginners: An Introduction to Neural Networks": the same starting weights, the same printed lines,
the same results, computed by a Cython or Numba kernel (or, on request, pure Python). All backends give
bit-identical results.
"""

from ._backend import available_backends
from ._many import train_many
from ._mlp import Network
from ._network import PARAM_NAMES, OurNeuralNetwork

__all__ = ["PARAM_NAMES", "Network", "OurNeuralNetwork", "__version__", "available_backends", "train_many"]

__version__ = "0.1.0"
