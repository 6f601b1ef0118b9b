"""ltvlab: Bayesian customer lifetime value and causal analysis of interaction strategies."""

from importlib.metadata import PackageNotFoundError, version

from ltvlab import _config

_config.configure()  # PyTensor's BLAS and cache directory, before anything imports PyTensor (see ltvlab._config)

from ltvlab.errors import ConvergenceWarning, DataValidationError, LtvlabError  # noqa: E402

try:
    __version__ = version("ltvlab")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"

__all__ = ["ConvergenceWarning", "DataValidationError", "LtvlabError", "__version__"]
