"""Exceptions a user can cause, each carrying the fix in its message.

Every error raised for bad input, a missing file or a corrupt artifact derives from
`RobustnessError`, so the app can show it with `st.error` and a script can print it
without a traceback.
"""

from __future__ import annotations


class RobustnessError(Exception):
    """Base class for errors caused by input, files or configuration (not by bugs)."""


class InputError(RobustnessError, ValueError):
    """An argument has the wrong shape, range or value."""


class ModelFileError(RobustnessError, FileNotFoundError):
    """A model file is missing, truncated, corrupt or does not match its spec."""


class DataError(RobustnessError, FileNotFoundError):
    """A data set cannot be found or read."""


class UnknownModelError(RobustnessError, KeyError):
    """A model name that is not in the registry."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class UnknownAttackError(UnknownModelError):
    """An attack name that is not in the attack registry (`core.attacks.ATTACKS`)."""


class UnknownPollError(RobustnessError, KeyError):
    """A poll id that is not in the poll registry (`app.polls.POLLS`)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""
