"""The progress renderer: plain lines with a time estimate in logs, nothing under --quiet, bars on a terminal."""

from __future__ import annotations

import io

import pytest

from dybnn import progress as P


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(P.time, "monotonic", c)
    return c


def test_lines_mode_prints_periodically_with_time_left(clock):
    buf = io.StringIO()
    r = P.Renderer("lines", stream=buf, interval=10)
    r("export", 0, 4)
    clock.t = 5
    r("export", 1, 4)  # before the first interval: nothing
    assert buf.getvalue() == ""
    clock.t = 10
    r("export", 2, 4)
    assert buf.getvalue() == "export: 2/4 (50 %), 10 s, about 10 s left\n"
    clock.t = 12
    r("export", 4, 4)
    assert buf.getvalue().splitlines()[-1] == "export: 4/4 done in 12 s"


def test_short_stages_print_nothing_and_unknown_totals_count(clock):
    buf = io.StringIO()
    r = P.Renderer("lines", stream=buf, interval=10)
    r("fast", 0, 3)
    r("fast", 3, 3)
    r("search", 0, None)
    clock.t = 70
    r("search", 7, None)
    assert buf.getvalue() == "search: 7 so far, 1 min 10 s\n"


def test_quiet_prints_nothing_and_auto_picks_lines_off_a_terminal(clock):
    buf = io.StringIO()
    r = P.renderer(quiet=True, stream=buf)
    clock.t = 100
    r("x", 1, 2)
    r("x", 2, 2)
    assert buf.getvalue() == "" and r.mode == "off"
    assert P.renderer(stream=io.StringIO()).mode == "lines"
    with pytest.raises(ValueError, match="progress mode"):
        P.Renderer("loud")


def test_bar_mode_draws_a_tqdm_bar():
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    buf = Tty()
    with P.Renderer("auto", stream=buf) as r:
        assert r.mode == "bar"
        r("verify", 1, 2)
        assert "verify" in buf.getvalue()
        r("verify", 2, 2)
    assert r._bar is None


def test_progress_kwargs_passes_the_renderer_only_where_accepted():
    def takes(x, *, progress=None):
        return progress

    def does_not(x):
        return x

    r = P.renderer(quiet=True)
    assert P.progress_kwargs(takes, r) == {"progress": r}
    assert P.progress_kwargs(does_not, r) == {}
    assert P.progress_kwargs(takes, None) == {}
    calls = []
    P.report(lambda *a: calls.append(a), "s", 1, 2)
    P.report(None, "s", 1, 2)
    assert calls == [("s", 1, 2)]


@pytest.mark.hls
def test_csim_reports_its_stages(tmp_path, rng):
    import shutil

    if shutil.which("g++") is None or shutil.which("make") is None:
        pytest.skip("g++/make not installed")
    from hls.csim import run_csim
    from hls.project import write_project
    from tests.hwsim.graphs import resblock_graph

    g = resblock_graph(rng)
    prj = write_project(g, tmp_path / "p", "pynq-z1", 10.0)
    calls = []
    x = rng.standard_normal((2, *g.spec(g.inputs[0]).shape)).astype("float32")
    res = run_csim(prj, g, x, progress=lambda *a: calls.append(a))
    assert res.ok
    stages = [c[0] for c in calls]
    assert sorted(set(stages), key=stages.index) == [
        "C simulation: g++ build, seconds", "C simulation: 2 frame(s), seconds"
    ]  # fmt: skip
    for st in set(stages):  # seconds so far, then the end (done == total)
        mine = [c for c in calls if c[0] == st]
        assert mine[0][1:] == (0, None) and mine[-1][1] == mine[-1][2] >= 1


def test_heartbeat_reports_seconds_while_a_silent_call_runs():
    import threading

    calls = []
    release = threading.Event()
    with P.heartbeat(lambda *a: calls.append(a), "export: silent, seconds", interval=0.01):
        while sum(1 for c in calls if c[2] is None) < 3:  # ticks arrive while the body runs
            release.wait(0.005)
    assert calls[0] == ("export: silent, seconds", 0, None)
    assert calls[-1][0] == "export: silent, seconds" and calls[-1][1] == calls[-1][2] >= 1  # the end
    n = len(calls)
    with pytest.raises(RuntimeError), P.heartbeat(lambda *a: calls.append(a), "x", interval=0.01):
        raise RuntimeError("boom")
    assert calls[-1][0] == "x" and calls[-1][1] == calls[-1][2] and len(calls) >= n + 2  # ended on error too
    with P.heartbeat(None, "nothing"):  # no progress: nothing happens
        pass
