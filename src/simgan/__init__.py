"""simgan: Simulated+Unsupervised learning (Shrivastava et al., CVPR 2017) in PyTorch.

The public API is small; see README.md. Data flows one way:
source files -> canonical dataset file (simgan.data) -> refiner -> refined dataset with
the same labels -> downstream model -> metrics.
"""

__version__ = "0.1.0"
