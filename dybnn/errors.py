"""Errors that are the user's to fix: the CLI prints them as one line (no traceback) and exits with status 2.

:class:`UserError` is what the verbs raise themselves. :func:`user_error_types` adds the library exceptions that
mean bad input (an unknown part, a graph file that is not a graph, a folding that does not divide, a checkpoint
that is not ours, a permission or a missing file); anything else is a bug and keeps its traceback. The global
``--debug`` flag shows the traceback of a user error too.
"""

from __future__ import annotations

import sys

#: module -> names of the exception classes in it that always mean bad input (imported only if the module is)
_LIBRARY_ERRORS: dict[str, tuple[str, ...]] = {
    "runfiles.outputs": ("OutputError",),
    "runfiles.records": ("RunFileError",),
    "hwsim.graph": ("GraphError",),
    "hwsim.lower.errors": ("LoweringError",),
    "hwsim.nodes.base": ("NodeValidationError",),
    "hwsim.infer": ("InferError",),
    "verify.levels": ("VerifyError",),
    "hls.folding": ("FoldingError",),
    "hls.devices": ("UnknownPartError",),
    "hls.estimate": ("FitError",),
    "hls.estimate.search": ("FitError",),
    "hls.project": ("ProjectError",),
    "hls.emit": ("EmitError",),
    "hls.csim": ("CsimError",),
    "training.train_config": ("ConfigError",),
    "training.train": ("OutputDirError",),
    "training.checkpoint": ("CheckpointError",),
    "training.data": ("UnknownDatasetError", "DatasetUnavailableError", "InputShapeMismatchError"),
    "training.models": ("UnknownModelError",),
    "training.exactness": ("ExportRangeError",),
}

#: OS errors that come from the user's paths (permissions, missing files, a directory given for a file)
_OS_ERRORS: tuple[type[OSError], ...] = (
    FileNotFoundError,
    FileExistsError,
    PermissionError,
    IsADirectoryError,
    NotADirectoryError,
)


class UserError(Exception):
    """Bad input: the message names the file, node or field and what was expected."""


def user_error_types() -> tuple[type[BaseException], ...]:
    """Exception types that come from bad input, gathered from the modules already imported."""
    types: list[type[BaseException]] = [UserError, *_OS_ERRORS]
    for mod, names in _LIBRARY_ERRORS.items():
        m = sys.modules.get(mod)
        for n in names:
            t = getattr(m, n, None) if m is not None else None
            if isinstance(t, type) and issubclass(t, BaseException):
                types.append(t)
    return tuple(types)


def is_user_error(e: BaseException) -> bool:
    """True when ``e`` is bad input (see :func:`user_error_types`), not a bug."""
    if isinstance(e, OSError) and not isinstance(e, _OS_ERRORS):
        # ENOSPC, EROFS, ... on a user's path are theirs too; an OSError without a file name is not
        return getattr(e, "filename", None) is not None
    return isinstance(e, user_error_types())


def one_line(e: BaseException) -> str:
    """The message of a user error on one line, naming the file for OS errors."""
    if isinstance(e, OSError) and e.filename is not None and e.strerror:
        where = f"{e.filename}" + (f" -> {e.filename2}" if e.filename2 is not None else "")
        return f"{where}: {e.strerror.lower()}"
    text = str(e) or type(e).__name__
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    if len(lines) > 1:
        return f"{lines[0]} ({'; '.join(lines[1:4])}{'; ...' if len(lines) > 4 else ''})"
    return lines[0] if lines else type(e).__name__
