"""Speed of the hwsim Numba kernels (level L3) against PyTorch float32 on the same +-1 data, in one process.

Layer cases: the XNOR-popcount kernel of an XnorConv / XnorDense node (identity output stage, so hwsim returns
the integer accumulator) against ``torch.nn.functional.conv2d`` / ``linear`` on the same +-1 tensors; the torch
result, as integers, must equal hwsim's accumulator. hwsim gets its input packed (:class:`PackedBits`), as it does
inside a simulation where the producing Sign emits packed words; torch gets NCHW float32.

Network cases: a whole lowered ``dybnn-reactnet-a`` (224x224, batch 8) against the Brevitas model's ``eval()``
forward and against ``qonnx.core.onnx_exec.execute_onnx`` (about 90 s per call; ``--no-qonnx-reactnet`` skips it),
and a whole ``dybnn-tiny`` against ``execute_onnx``; each checks that the logits are equal. A case that
fails prints ``skipped: <error>``. The peak memory of a batch-8
``dybnn-reactnet-a`` simulation is measured in a child process (peak RSS of the batch run).

Timing: warm-up calls first (Numba compiles or loads its cache), then ``--repeats`` rounds; a round of a layer case
runs ``--block`` (default 5) baseline calls, then as many hwsim calls, so both see the same machine load. The first
call of each side in a round (the switch-over, with the other library's data in the caches, see :func:`timed_pair`)
is reported apart (``speedup_switch_over``); the medians of the other calls are the result (and the ratio of the
minima). The Brevitas network case alternates single calls; the ``execute_onnx`` cases time the baseline over a
few calls (``--qonnx-calls`` for dybnn-reactnet-a) and hwsim over ``--repeats`` calls.
``torch.set_num_threads`` and the Numba thread count are both set to ``--threads`` (default 2). ``--clock cpu``
times process CPU time instead of wall time: with ``--threads 1`` that is robust to other jobs on the machine.
See ``docs/performance.md``.

    .venv/bin/python benchmarks/bench_hwsim.py [--json] [--repeats 15] [--block 5] [--threads 2] [--clock wall|cpu]
                                               [--only conv3x3_c128 ...] [--no-network] [--work-dir DIR]
                                               [--no-qonnx-reactnet] [--qonnx-calls 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from hwsim import nodes as N  # noqa: E402
from hwsim.infer import infer  # noqa: E402
from hwsim.kernels import KERNELS, PackedBits  # noqa: E402
from hwsim.types import Bipolar, TensorSpec  # noqa: E402

# name, (cin, cout, hw, kernel, batch) -- stride 1, 'same' zero padding (torch's padding = ReActNet's pad_value 0)
CONV_CASES = [
    ("conv3x3_c128_28x28", 128, 128, 28, 3, 8),
    ("conv3x3_c256_14x14", 256, 256, 14, 3, 8),
    ("conv3x3_c512_7x7", 512, 512, 7, 3, 8),
    ("conv1x1_c256_14x14", 256, 256, 14, 1, 8),
]
DENSE_CASES = [("dense_4096x1024_b64", 4096, 1024, 64)]


class Timing(NamedTuple):
    """Seconds per call: medians (the reported numbers), minima (the least disturbed call of each side) and the
    medians of the first call of each side after the other side ran (``nan`` with blocks of one call)."""

    base: float
    ours: float
    base_min: float
    ours_min: float
    base_switch: float = float("nan")
    ours_switch: float = float("nan")


#: thread count of both sides (set by ``--threads``)
THREADS = [2]
#: the clock of :func:`timed_pair`: wall time (default) or the process's CPU time (``--clock cpu``)
CLOCK: list[Callable[[], float]] = [time.perf_counter]
#: calls per side in each round of the layer cases (set by ``--block``)
BLOCK = [5]


def timed_pair(
    base: Callable[[], object],
    ours: Callable[[], object],
    repeats: int,
    warmup: int = 3,
    block: int = 1,
) -> Timing:
    """Time ``base`` and ``ours`` in ``repeats`` rounds after warm-up; each round runs ``block`` calls of the
    baseline, then ``block`` calls of hwsim, so both see the same machine load.

    With ``block > 1`` the first call of each side in a round is the *switch-over* call and is kept apart: it
    starts with the caches full of the other library's data (in the dense case torch streams 16 MiB of float
    weights, which evicts hwsim's 512 KiB of packed weights from L2; the first hwsim call after it takes about
    twice the steady time, with one thread as with two), and with two threads it also shares a core with the other
    OpenMP runtime's worker, which keeps spinning for a while after its parallel region (PyTorch and Numba each
    bring their own). The reported medians are over the remaining, steady-state calls, as a loop over one layer
    would see them; the switch-over medians are reported too (``speedup_switch_over``).
    """
    clock = CLOCK[0]
    for _ in range(warmup):
        base()
        ours()
    tb, to, sb, so = [], [], [], []
    for _ in range(repeats):
        for fn, steady, first in ((base, tb, sb), (ours, to, so)):
            for i in range(block):
                t = clock()
                fn()
                (first if block > 1 and i == 0 else steady).append(clock() - t)
    med = statistics.median
    nan = float("nan")
    return Timing(med(tb), med(to), min(tb), min(to), med(sb) if sb else nan, med(so) if so else nan)


def record(name: str, baseline: str, t: Timing, **extra) -> dict:
    """One result (medians), with the minima, the clock, the thread count and the 1-minute load average
    ``load1`` (this machine is shared)."""
    return {
        "name": name,
        "baseline": baseline,
        "baseline_ms": round(t.base * 1e3, 4),
        "hwsim_ms": round(t.ours * 1e3, 4),
        "speedup": round(t.base / t.ours, 2),
        "speedup_of_minima": round(t.base_min / t.ours_min, 2),
        **(
            {}
            if t.ours_switch != t.ours_switch
            else {"speedup_switch_over": round(t.base_switch / t.ours_switch, 2)}
        ),
        **extra,
        "clock": "cpu" if CLOCK[0] is time.process_time else "wall",
        "threads": THREADS[0],
        "load1": round(os.getloadavg()[0], 2),
    }


def bench_conv(name, cin, cout, hw, k, batch, repeats, rng) -> dict:
    import torch
    import torch.nn.functional as F

    p = k // 2
    xb = rng.integers(0, 2, (batch, hw, hw, cin), dtype=np.uint8)
    wb = rng.integers(0, 2, (cout, k, k, cin), dtype=np.uint8)
    node = N.XnorConv(
        name=name,
        inputs=("x",),
        outputs=("y",),
        weights=wb,
        kernel=(k, k),
        stride=(1, 1),
        pad=(p, p, p, p),
        pad_value=0,
        stage=N.OutputStage.identity(cout),
    )
    spec_in = [TensorSpec((hw, hw, cin), Bipolar())]
    spec_out = infer(node, spec_in)
    xp = PackedBits.from_bits(xb)
    fn = KERNELS[N.XnorConv]
    xt = torch.from_numpy(2 * xb.astype(np.float32) - 1).permute(0, 3, 1, 2).contiguous()
    wt = torch.from_numpy(2 * wb.astype(np.float32) - 1).permute(0, 3, 1, 2).contiguous()
    with torch.inference_mode():
        ref = F.conv2d(xt, wt, padding=p)
        got = fn(node, [xp], spec_in, spec_out)[0]
        if not np.array_equal(ref.permute(0, 2, 3, 1).numpy().astype(np.int64), got):
            raise AssertionError(f"{name}: hwsim accumulator differs from torch conv2d")
        t = timed_pair(
            lambda: F.conv2d(xt, wt, padding=p),
            lambda: fn(node, [xp], spec_in, spec_out),
            repeats,
            block=BLOCK[0],
        )
    macs = batch * hw * hw * cout * cin * k * k
    return record(
        name,
        "torch.conv2d float32",
        t,
        hwsim_gmac_s=round(macs / t.ours / 1e9, 1),
        baseline_gmac_s=round(macs / t.base / 1e9, 1),
    )


def bench_dense(name, cin, cout, batch, repeats, rng) -> dict:
    import torch
    import torch.nn.functional as F

    xb = rng.integers(0, 2, (batch, cin), dtype=np.uint8)
    wb = rng.integers(0, 2, (cout, cin), dtype=np.uint8)
    node = N.XnorDense(
        name=name, inputs=("x",), outputs=("y",), weights=wb, stage=N.OutputStage.identity(cout)
    )
    spec_in = [TensorSpec((cin,), Bipolar())]
    spec_out = infer(node, spec_in)
    xp = PackedBits.from_bits(xb)
    fn = KERNELS[N.XnorDense]
    xt = torch.from_numpy(2 * xb.astype(np.float32) - 1)
    wt = torch.from_numpy(2 * wb.astype(np.float32) - 1)
    with torch.inference_mode():
        ref = F.linear(xt, wt)
        got = fn(node, [xp], spec_in, spec_out)[0]
        if not np.array_equal(ref.numpy().astype(np.int64), got):
            raise AssertionError(f"{name}: hwsim accumulator differs from torch linear")
        t = timed_pair(
            lambda: F.linear(xt, wt), lambda: fn(node, [xp], spec_in, spec_out), repeats, block=BLOCK[0]
        )
    macs = batch * cin * cout
    return record(
        name,
        "torch.linear float32",
        t,
        hwsim_gmac_s=round(macs / t.ours / 1e9, 1),
        baseline_gmac_s=round(macs / t.base / 1e9, 1),
    )


# ---------------------------------------------------------------------------------------------------- networks


def _training_tools():
    """``(build_model, calibrate, prepare_for_export, export_model)``."""
    from training.calibration import calibrate
    from training.export import export_model, prepare_for_export
    from training.models import build_model

    return build_model, calibrate, prepare_for_export, export_model


def brevitas_model(name: str, seed: int = 0):
    """The deployed (calibrated, BatchNorm-folded, eval) Brevitas model ``name`` with seeded random weights."""
    import torch

    build_model, calibrate, prepare_for_export, _ = _training_tools()
    torch.manual_seed(seed)
    model = build_model(name)
    calibrate(model, None, 2, seed=seed)
    prepare_for_export(model)
    return model.eval()


def lowered(name: str, model, batch: int, work_dir: Path):
    """Export ``model`` at ``batch`` and lower it, cached in ``work_dir/<name>_b<batch>_t<threads>/`` (``model.onnx``,
    ``hw/``): the export of a 224x224 network takes minutes. Returns ``(onnx path, HwGraph)``."""
    import torch

    from hwsim.graph import HwGraph

    # the model is calibrated with float reductions whose order depends on the thread count: key the cache on it
    d = work_dir / f"{name}_b{batch}_t{torch.get_num_threads()}"
    onnx_path, hw = d / "model.onnx", d / "hw"
    if not onnx_path.is_file():
        d.mkdir(parents=True, exist_ok=True)
        _training_tools()[3](model, onnx_path, batch=batch)
    if (hw / "graph.json").is_file():
        return onnx_path, HwGraph.load(hw)
    from hwsim.lower import lower

    graph = lower(onnx_path)
    graph.save(hw)
    return onnx_path, graph


def bench_reactnet(repeats: int, work_dir: Path, batch: int = 8) -> tuple[dict, object, Path | None]:
    """Whole dybnn-reactnet-a (224x224, batch ``batch``): hwsim ``simulate(level="numba")`` against the Brevitas
    model's eval forward. Falls back to :func:`synthetic_reactnet_a` (same structure, random integer parameters)
    when the export or the lowering fails; the record says which graph ran. Returns the record, the graph and the
    exported QONNX file (``None`` for the synthetic graph)."""
    import torch

    from hwsim.simulate import fixed_to_float, simulate

    model = brevitas_model("dybnn-reactnet-a")
    extra: dict = {}
    onnx_path = None
    try:
        onnx_path, graph = lowered("dybnn-reactnet-a", model, batch, work_dir)
        extra["graph"] = "lowered"
    except Exception as e:  # noqa: BLE001 - the lowering is developed concurrently; say why and go on
        graph = synthetic_reactnet_a()
        extra["graph"] = "synthetic (same structure, random parameters)"
        extra["lowering"] = f"{type(e).__name__}: {str(e).splitlines()[0][:160]}"
    x = np.random.default_rng(0).standard_normal((batch, 3, 224, 224)).astype(np.float32)
    xt = torch.from_numpy(x)
    with torch.inference_mode():
        if extra["graph"] == "lowered":
            logits = graph.metadata.get("logits") or graph.outputs[0]
            out = simulate(graph, x, "numba", return_intermediates=True)[logits]
            got = fixed_to_float(out, graph.spec(logits).dtype.frac).astype(np.float32)
            extra["logits_equal_torch"] = bool(np.array_equal(got, model(xt).numpy()))
        t = timed_pair(lambda: model(xt), lambda: simulate(graph, x, "numba"), max(3, repeats // 3), warmup=1)
    return record(f"dybnn-reactnet-a_224_b{batch}", "brevitas eval forward", t, **extra), graph, onnx_path


def bench_qonnx(name: str, onnx_path: Path, graph, repeats: int, batch: int = 8, base_calls: int = 3) -> dict:
    """A whole network: hwsim against ``qonnx.core.onnx_exec.execute_onnx`` on the exported QONNX file; the
    logits must be equal. ``execute_onnx`` builds an onnxruntime session per node per call (no warm-up to skip):
    it is timed over ``base_calls`` calls (about 90 s each for the 224x224 ``dybnn-reactnet-a``), hwsim over
    ``repeats`` calls after one warm-up."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx

    from hwsim.simulate import fixed_to_float, simulate

    mw = ModelWrapper(str(onnx_path))
    iname, oname = mw.graph.input[0].name, mw.graph.output[0].name
    shape = [d.dim_value for d in mw.graph.input[0].type.tensor_type.shape.dim]
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    clock = CLOCK[0]
    tb, ref = [], None
    for _ in range(base_calls):
        t = clock()
        ref = execute_onnx(mw, {iname: x})[oname]
        tb.append(clock() - t)
    logits = graph.metadata.get("logits") or graph.outputs[0]
    out = simulate(graph, x, "numba", return_intermediates=True)[logits]
    equal = bool(np.array_equal(fixed_to_float(out, graph.spec(logits).dtype.frac).astype(np.float32), ref))
    to = []
    for _ in range(max(3, repeats)):
        t = clock()
        simulate(graph, x, "numba")
        to.append(clock() - t)
    med = statistics.median
    t = Timing(med(tb), med(to), min(tb), min(to))
    return record(name, "qonnx execute_onnx", t, baseline_calls=base_calls, logits_equal_qonnx=equal)


def bench_tiny(repeats: int, work_dir: Path, batch: int = 8) -> dict:
    """Whole dybnn-tiny: hwsim against ``qonnx.core.onnx_exec.execute_onnx`` on the exported QONNX model."""
    model = brevitas_model("dybnn-tiny")
    path, graph = lowered("dybnn-tiny", model, batch, work_dir)
    return bench_qonnx(f"dybnn-tiny_b{batch}", path, graph, repeats, batch, base_calls=max(3, repeats // 3))


def synthetic_reactnet_a(seed: int = 0):
    """A hardware graph with the structure and shapes of ``dybnn-reactnet-a`` (224x224, 1000 classes) and random
    integer parameters (:func:`hls.estimate.designs.reactnet_a`): the fallback network case while the QONNX
    lowering cannot produce the real one."""
    from hls.estimate.designs import reactnet_a

    return reactnet_a(np.random.default_rng(seed), dynamic=True)


_MEM_CHILD = r"""
import resource, sys, tracemalloc
import numpy as np
sys.path.insert(0, {root!r})
from hwsim.graph import HwGraph
from hwsim.simulate import simulate

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])

graph = HwGraph.load({graph!r})
x = np.random.default_rng(0).standard_normal(({batch}, 3, 224, 224)).astype(np.float32)
simulate(graph, x[:1], "numba")  # compile or load the Numba cache, prepare the weights
warm_peak, before = status("VmHWM"), status("VmRSS")
try:  # reset the peak to the current RSS (Linux >= 4.0), so VmHWM below is the peak of the batch run
    open("/proc/self/clear_refs", "w").write("5")
    reset = True
except OSError:
    reset = False
tracemalloc.start()
simulate(graph, x, "numba")
peak = tracemalloc.get_traced_memory()[1]
print("MEM", warm_peak, before, status("VmHWM"), int(reset), peak, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def reactnet_memory(graph, work_dir: Path, batch: int = 8) -> dict:
    """Peak memory of a batch-``batch`` simulation of ``graph`` in a fresh child process.

    After a batch-1 warm-up (Numba cache, prepared weights) the child resets the kernel's peak-RSS counter and
    runs the batch: ``peak_rss_mib`` is the whole process at its peak during that run (interpreter, LLVM and the
    compiled kernels, the graph's parameters and the simulation); ``tracemalloc_peak_mib`` counts only the numpy
    arrays allocated during the run; ``warmup_peak_rss_mib`` includes the warm-up (compilation when the cache is
    cold)."""
    gdir = work_dir / "memory_graph"
    graph.save(gdir)
    code = _MEM_CHILD.format(root=str(ROOT), graph=str(gdir), batch=batch)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    line = next((ln for ln in p.stdout.splitlines() if ln.startswith("MEM ")), None)
    if line is None:
        raise RuntimeError(f"memory child failed: {p.stderr.strip().splitlines()[-1:]}")
    warm_peak, before, peak_rss, reset, traced, maxrss = (int(v) for v in line.split()[1:])
    peak = peak_rss if reset else maxrss
    return {
        "name": f"dybnn-reactnet-a_224_b{batch}_memory",
        "graph": graph.name,
        "peak_rss_mib": round(peak / 1024, 1),
        "rss_before_mib": round(before / 1024, 1),
        "warmup_peak_rss_mib": round(warm_peak / 1024, 1),
        "tracemalloc_peak_mib": round(traced / 2**20, 1),
        "limit_mib": 2048,
        "under_limit": peak / 1024 < 2048,
    }


# ---------------------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print the records as one JSON list")
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--block",
        type=int,
        default=5,
        help="layer cases: calls per side in each round; the first of each is reported apart as the switch-over "
        "call (1: strict alternation, every call is a switch-over call)",
    )
    ap.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="wall time, or process CPU time (with --threads 1: robust to other jobs on the machine)",
    )
    ap.add_argument("--only", nargs="*", help="run only the cases whose name starts with one of these")
    ap.add_argument("--no-network", action="store_true", help="layer cases only")
    ap.add_argument(
        "--no-qonnx-reactnet",
        action="store_true",
        help="skip dybnn-reactnet-a against execute_onnx (about 90 s per call, plus 45 s to load the model)",
    )
    ap.add_argument(
        "--qonnx-calls", type=int, default=2, help="execute_onnx calls of the dybnn-reactnet-a case"
    )
    ap.add_argument("--work-dir", help="cache for the exported/lowered networks (default: a fresh temp dir)")
    args = ap.parse_args(argv)

    import numba
    import torch

    CLOCK[0] = time.process_time if args.clock == "cpu" else time.perf_counter
    THREADS[0] = args.threads
    BLOCK[0] = max(1, args.block)
    torch.set_num_threads(args.threads)
    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    rng = np.random.default_rng(0)

    def wanted(name: str) -> bool:
        return not args.only or any(name.startswith(o) for o in args.only)

    records: list[dict] = []

    def emit(rec: dict) -> None:
        records.append(rec)
        if not args.json:
            if "speedup" in rec:
                extra = "".join(
                    f"  {k}={v}"
                    for k, v in rec.items()
                    if k not in ("name", "baseline", "baseline_ms", "hwsim_ms", "speedup")
                )
                print(
                    f"{rec['name']:28s} {rec['baseline']:24s} {rec['baseline_ms']:10.3f} ms  hwsim "
                    f"{rec['hwsim_ms']:9.3f} ms  x{rec['speedup']:.2f}{extra}",
                    flush=True,
                )
            else:
                print(
                    f"{rec['name']:28s} {json.dumps({k: v for k, v in rec.items() if k != 'name'})}",
                    flush=True,
                )

    for name, cin, cout, hw, k, batch in CONV_CASES:
        if wanted(name):
            emit(bench_conv(name, cin, cout, hw, k, batch, args.repeats, rng))
    for name, cin, cout, batch in DENSE_CASES:
        if wanted(name):
            emit(bench_dense(name, cin, cout, batch, args.repeats, rng))
    if not args.no_network:
        tmp = None if args.work_dir else tempfile.TemporaryDirectory(prefix="bench_hwsim.")
        work_dir = Path(args.work_dir) if args.work_dir else Path(tmp.name)
        graph = onnx_path = None
        if wanted("dybnn-reactnet-a_224_b8"):
            try:
                rec, graph, onnx_path = bench_reactnet(args.repeats, work_dir)
                emit(rec)
            except Exception as e:  # noqa: BLE001 - report and go on with the other cases
                emit({"name": "dybnn-reactnet-a_224_b8", "skipped": f"{type(e).__name__}: {e}"})
        if wanted("dybnn-reactnet-a_224_b8_qonnx") and not args.no_qonnx_reactnet:
            name = "dybnn-reactnet-a_224_b8_qonnx"
            if onnx_path is None:
                emit(
                    {"name": name, "skipped": "needs the exported and lowered dybnn-reactnet-a (case above)"}
                )
            else:
                try:
                    emit(bench_qonnx(name, onnx_path, graph, args.repeats, base_calls=args.qonnx_calls))
                except Exception as e:  # noqa: BLE001
                    emit({"name": name, "skipped": f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"})
        if wanted("dybnn-tiny_b8"):
            try:
                emit(bench_tiny(args.repeats, work_dir))
            except Exception as e:  # noqa: BLE001
                emit(
                    {
                        "name": "dybnn-tiny_b8",
                        "skipped": f"{type(e).__name__}: {str(e).splitlines()[0][:200]}",
                    }
                )
        if wanted("dybnn-reactnet-a_224_b8_memory"):
            try:
                emit(reactnet_memory(graph if graph is not None else synthetic_reactnet_a(), work_dir))
            except Exception as e:  # noqa: BLE001
                emit({"name": "dybnn-reactnet-a_224_b8_memory", "skipped": f"{type(e).__name__}: {e}"})
        if tmp is not None:
            tmp.cleanup()
    if args.json:
        print(json.dumps(records, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
