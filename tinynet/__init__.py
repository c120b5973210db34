"""tinynet: small neural networks trained per sample by compiled kernels, bit for bit alike everywhere.

``from tinynet import OurNeuralNetwork`` is a drop-in for the class of the tutorial "Machine Learning
for Beginners: An Introduction to Neural Networks": the same starting weights, the same printed lines,
the same results, computed by a Cython or Numba kernel (or, on request, pure Python). ``Network``
trains fully connected networks of any layer sizes on the same backends, and ``train_many`` trains
many networks at once. All backends give bit-identical results.
"""

from ._backend import available_backends
from ._many import train_many
from ._network import Network
from ._tutorial import PARAM_NAMES, OurNeuralNetwork
from ._version import __version__

__all__ = ["PARAM_NAMES", "Network", "OurNeuralNetwork", "__version__", "available_backends", "train_many"]
