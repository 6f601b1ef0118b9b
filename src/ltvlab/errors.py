"""The project's exception and warning types.

Every mistake a user can make (bad file, bad column, bad parameter) raises a subclass of
:class:`LtvlabError`, whose message names what is wrong and how to fix it. The CLI turns these into a
one-line message and exit code 2, never a traceback.
"""

from __future__ import annotations


class LtvlabError(ValueError):
    """Base class of every error caused by user input or configuration."""


class DataValidationError(LtvlabError):
    """Input data failed validation: the message names the file, row, column and the fix."""


class ConvergenceWarning(UserWarning):
    """A Bayesian fit finished but failed its diagnostics gate (R-hat, ESS, divergences)."""
