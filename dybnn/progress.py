"""Progress of long work, shown by the CLI: a tqdm bar on a terminal, plain periodic lines in logs and CI.

The contract between libraries and the CLI: a library function that can take long accepts an optional keyword
``progress: Progress | None = None`` and calls ``progress(stage, done, total)`` as it goes (``total`` is None when
unknown; ``done == total`` ends a stage). Libraries never print bars themselves. The CLI passes a
:class:`Renderer`, made by :func:`renderer` from the global ``--quiet`` flag::

    def export_checkpoint(run_dir, out, *, progress: Progress | None = None):
        for i, batch in enumerate(batches):
            ...
            if progress is not None:
                progress("calibration", i + 1, len(batches))

:func:`report` is the one-line way for a library to call an optional callback.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import IO

from runfiles.progress import heartbeat  # noqa: F401 - re-exported: the progress contract's helpers in one place

#: ``progress(stage, done, total)``; ``total`` None when unknown.
Progress = Callable[[str, int, "int | None"], None]


def report(progress: Progress | None, stage: str, done: int, total: int | None) -> None:
    """Call ``progress`` if there is one (libraries use this so that ``None`` costs one comparison)."""
    if progress is not None:
        progress(stage, done, total)


def _fmt_seconds(s: float) -> str:
    s = max(0, int(round(s)))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


class Renderer:
    """Shows ``(stage, done, total)`` updates.

    Modes: ``"bar"`` (one tqdm bar per stage, on a terminal), ``"lines"`` (for logs and CI: once a stage has run
    for ``interval`` seconds, one line every ``interval`` seconds with the progress and the time left, and a last
    line when it ends; a stage shorter than ``interval`` prints nothing), ``"off"`` (nothing; ``--quiet``).
    ``"auto"`` picks ``bar`` when ``stream`` is a terminal, else ``lines``.
    """

    def __init__(self, mode: str = "auto", stream: IO[str] | None = None, interval: float = 10.0) -> None:
        self.stream = stream if stream is not None else sys.stderr
        if mode == "auto":
            isatty = getattr(self.stream, "isatty", lambda: False)
            mode = "bar" if isatty() else "lines"
        if mode not in ("bar", "lines", "off"):
            raise ValueError(f"progress mode must be auto, bar, lines or off, got {mode!r}")
        self.mode = mode
        self.interval = interval
        self._stage: str | None = None
        self._t0 = 0.0
        self._last = 0.0
        self._printed = False
        self._bar = None

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if self.mode == "off":
            return
        now = time.monotonic()
        if stage != self._stage:
            self.close()
            self._stage, self._t0, self._last = stage, now, now
            self._printed = False
            if self.mode == "bar":
                from tqdm import tqdm

                self._bar = tqdm(total=total, desc=stage, file=self.stream, leave=False, dynamic_ncols=True)
        if self.mode == "bar":
            bar = self._bar
            if total is not None and bar.total != total:
                bar.total = total
            bar.update(done - bar.n)
            if total is not None and done >= total:
                self.close()
            return
        finished = total is not None and done >= total
        if (finished and self._printed) or (not finished and now - self._last >= self.interval):
            self._last = now
            self._printed = True
            self._line(self._status(stage, done, total, now - self._t0, finished))
        if finished:
            self._stage = None

    @staticmethod
    def _status(stage: str, done: int, total: int | None, elapsed: float, finished: bool) -> str:
        if finished:
            return f"{stage}: {done}/{total} done in {_fmt_seconds(elapsed)}"
        if total:
            left = f", about {_fmt_seconds(elapsed * (total - done) / done)} left" if done > 0 else ""
            return f"{stage}: {done}/{total} ({100 * done / total:.0f} %), {_fmt_seconds(elapsed)}{left}"
        return f"{stage}: {done} so far, {_fmt_seconds(elapsed)}"

    def _line(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def close(self) -> None:
        """End the current stage's bar (a new stage or the end of the command)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        self._stage = None

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def renderer(quiet: bool = False, stream: IO[str] | None = None) -> Renderer:
    """The CLI's renderer: nothing under ``--quiet``, else a bar on a terminal and plain lines otherwise."""
    return Renderer("off" if quiet else "auto", stream=stream)


def cli_progress() -> Renderer:
    """The renderer for the running ``dybnn`` command (honours the global ``--quiet``)."""
    import click

    ctx = click.get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx is not None else None
    quiet = bool(obj.get("quiet")) if isinstance(obj, dict) else False
    return renderer(quiet)


def progress_kwargs(fn: Callable[..., object], progress: Progress | None) -> dict[str, Progress]:
    """``{"progress": progress}`` when ``fn`` takes the keyword, else ``{}``: the CLI passes its renderer to every
    long library call, and a library function gains a bar as soon as it accepts ``progress=``."""
    import inspect

    if progress is None:
        return {}
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return {}
    return {"progress": progress} if "progress" in params else {}
