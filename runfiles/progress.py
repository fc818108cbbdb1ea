"""Progress of one long call that cannot report itself, for any package (standard library only).

The progress contract (``dybnn/progress.py``): a library function that can take long accepts
``progress: Progress | None`` and calls ``progress(stage, done, total)``; the CLI renders it. :func:`heartbeat`
serves the calls that cannot report (Brevitas' ``export_qonnx``, a g++ run): it reports the seconds so far.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

#: ``progress(stage, done, total)``; ``total`` None when unknown.
Progress = Callable[[str, int, "int | None"], None]


@contextmanager
def heartbeat(progress: Progress | None, stage: str, interval: float = 2.0) -> Iterator[None]:
    """Progress of one long call that cannot report itself (a library's export, a compiler run): while the body
    runs, a thread calls ``progress(stage, seconds so far, None)`` every ``interval`` seconds, and the stage ends
    with ``progress(stage, s, s)`` after the body (also when it raises). The stage name should say that it counts
    seconds. Nothing happens without ``progress``.
    """
    if progress is None:
        yield
        return
    t0 = time.monotonic()
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(interval):
            progress(stage, int(time.monotonic() - t0), None)

    progress(stage, 0, None)
    th = threading.Thread(target=tick, name=f"heartbeat {stage}", daemon=True)
    th.start()
    try:
        yield
    finally:
        stop.set()
        th.join()
        s = max(1, int(time.monotonic() - t0))
        progress(stage, s, s)
