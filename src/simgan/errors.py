"""The one exception type a user can cause, and how the CLI shows it."""

from __future__ import annotations


class SimganError(Exception):
    """A problem the user can fix (bad path, corrupt file, wrong shape, unknown key).

    The message names the file or value at fault and says what to do; the CLI prints it
    as one line and exits non-zero, without a traceback.
    """
