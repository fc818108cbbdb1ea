"""Errors that are the user's to fix: the CLI prints them as one line (no traceback) and exits with status 2."""

from __future__ import annotations


def user_error_types() -> tuple[type[BaseException], ...]:
    """Exception types that come from bad input (unknown names, bad files, bad shapes), gathered lazily."""
    types: list[type[BaseException]] = [UserError, FileNotFoundError, PermissionError, NotADirectoryError]
    return tuple(types)


class UserError(Exception):
    """Bad input: the message names the file, node or field and what was expected."""
