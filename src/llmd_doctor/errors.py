"""Errors the CLI turns into one line on stderr and exit code 2 (kept light: imported at start-up)."""


class UsageError(Exception):
    """Bad input: a one-line message and exit code 2."""
