"""The driver of ``dybnn verify`` and the flow: PyTorch (Brevitas) == QONNX ``execute_onnx`` == hwsim ``ref`` ==
``numba``, exactly.

Levels and what is compared (exact equality, never a tolerance):

======================  ======================================================================================
pair                    tensors
======================  ======================================================================================
torch vs qonnx          every activation quantizer output (Brevitas act-quant proxies paired with the QONNX
                        Quant/BipolarQuant nodes by :func:`verify.sites.pair_sites`) + logits
torch vs ref            the quantizer outputs that are hardware tensors + logits + top-1 label
qonnx vs ref            every hardware tensor the lowering mapped to an ONNX tensor (binary activations and
                        every fixed-point tensor of the real-valued path), the dynamic thresholds and shifts of
                        DynamicSign / DynamicPReLU, logits and label
ref vs numba            every tensor of the hardware graph
======================  ======================================================================================

Values are converted exactly (:mod:`hwsim.onnx_values`): hardware integers ``q`` to ``q * 2**-frac`` (bits to
``+-2**-frac``), channels-last to NCHW through the lowering's :class:`~hwsim.lower.layout.Layout`; ONNX/PyTorch
float32 values are compared as float64. QONNX runs one ``execute_onnx`` per batch of the file's batch size, so by
default it covers only the first ``qonnx_samples`` inputs (the other levels cover all of them).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hwsim.graph import HwGraph
from hwsim.onnx_values import dynamic_values, hw_value
from runfiles.layout import CHECKPOINT as CHECKPOINT_NAME
from runfiles.layout import GRAPH_JSON, HW_DIR
from runfiles.layout import MODEL_ONNX as ONNX_NAME
from runfiles.progress import heartbeat
from runfiles.records import PairResult, VerifyReport
from verify.sites import ACTIVATION, OnnxSite, TorchSite, onnx_sites, pair_sites, torch_sites

LEVELS = ("torch", "qonnx", "ref", "numba")


class VerifyError(ValueError):
    """The verification cannot run (missing files, bad arguments)."""


# --------------------------------------------------------------------------------------------------------- inputs


@dataclass
class Sources:
    """The files of a verification run."""

    onnx: Path
    graph: HwGraph
    checkpoint: Path | None
    graph_source: str


def resolve(path: str | os.PathLike, relower: bool = False) -> Sources:
    """Find ``model.onnx``, the hardware graph (``hw/`` when its manifest says it was lowered from this very file,
    else lowered now) and the checkpoint (``checkpoint.pt``) of a run directory, or take a bare ONNX file."""
    from hwsim.lower import lower

    p = Path(path)
    if p.is_dir():
        onnx_path = p / ONNX_NAME
        if not onnx_path.is_file():
            cands = sorted(p.glob("*.onnx"))
            if len(cands) != 1:
                raise VerifyError(f"{p}: expected {ONNX_NAME} (write it with `dybnn export`)")
            onnx_path = cands[0]
        ckpt = p / CHECKPOINT_NAME if (p / CHECKPOINT_NAME).is_file() else None
        hw = p / HW_DIR
    elif p.is_file():
        onnx_path, ckpt, hw = p, None, p.parent / HW_DIR
    else:
        raise VerifyError(f"{p}: no such file or directory")
    gj = hw / GRAPH_JSON
    if not relower and gj.is_file() and _lowered_from(hw, onnx_path):
        return Sources(onnx_path, HwGraph.load(hw), ckpt, str(hw))
    return Sources(onnx_path, lower(onnx_path), ckpt, "lowered now")


def _lowered_from(hw: Path, onnx_path: Path) -> bool:
    """``hw/``'s manifest records this very QONNX file (SHA-256) and its files are intact; an mtime cannot tell."""
    from hwsim.graph import GRAPH_OWNER
    from runfiles.outputs import file_sha256, made_from, owned_files_intact

    rec = made_from(hw, GRAPH_OWNER)
    return (
        rec is not None
        and rec.get("onnx_sha256") == file_sha256(onnx_path)
        and owned_files_intact(hw, GRAPH_OWNER)
    )


def synthetic_inputs(g: HwGraph, n: int, seed: int = 0) -> np.ndarray:
    """``n`` standard-normal float32 inputs of the model's NCHW input shape."""
    shape = tuple(g.metadata.get("input_shape") or ())
    if not shape:
        raise VerifyError(f"graph {g.name!r} has no input_shape metadata (lower it with `dybnn lower`)")
    return np.random.default_rng(seed).standard_normal((n, *shape)).astype(np.float32)


# --------------------------------------------------------------------------------------------------------- levels


def run_sim(g: HwGraph, x: np.ndarray, level: str) -> dict[str, np.ndarray]:
    from hwsim.simulate import simulate

    return simulate(g, x, level=level, return_intermediates=True)


def run_qonnx(
    proto: Any,
    x: np.ndarray,
    names: list[str],
    progress: Callable[[str, int, int | None], None] | None = None,
) -> dict[str, np.ndarray]:
    """``execute_onnx`` with the full context on ``x``, in batches of the graph's batch size; returns the
    requested tensors concatenated over the samples (the last batch is padded with zeros).
    ``progress("qonnx", samples done, samples)`` after every batch."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx

    mw = proto if isinstance(proto, ModelWrapper) else ModelWrapper(proto)
    iname = mw.graph.input[0].name
    batch = int(mw.get_tensor_shape(iname)[0])
    out: dict[str, list[np.ndarray]] = {t: [] for t in names}
    n = x.shape[0]
    for s in range(0, n, batch):
        xb = x[s : s + batch]
        k = xb.shape[0]
        if k < batch:
            xb = np.concatenate([xb, np.zeros((batch - k, *xb.shape[1:]), np.float32)])
        ctx = execute_onnx(mw, {iname: xb}, return_full_exec_context=True)
        for t in names:
            out[t].append(np.asarray(ctx[t])[:k])
        if progress is not None:
            progress("qonnx", s + k, n)
    return {t: np.concatenate(v) for t, v in out.items()}


# --------------------------------------------------------------------------------------------------------- driver


def verify(
    path: str | os.PathLike,
    samples: int = 100,
    levels: tuple[str, ...] = LEVELS,
    *,
    qonnx_samples: int = 20,
    seed: int = 0,
    x: np.ndarray | None = None,
    model: Any = None,
    graph: HwGraph | None = None,
    chunk: int = 64,
    progress: Callable[[str, int, int | None], None] | None = None,
) -> VerifyReport:
    """Compare the levels on ``samples`` synthetic inputs (or ``x``); see the module docstring.

    Args:
        path: a run directory (``model.onnx``, optionally ``checkpoint.pt`` and ``hw/``) or an ONNX file.
        levels: a subset of :data:`LEVELS`; unavailable levels are skipped with a note.
        qonnx_samples: QONNX runs on the first ``min(samples, qonnx_samples)`` inputs only (it is slow).
        model: a PyTorch model to use as the torch level instead of the directory's checkpoint.
        graph: a hardware graph to use instead of ``hw/`` or a fresh lowering.
        progress: ``progress(level, samples done, samples)`` as each level (ref, numba, qonnx, torch) advances.
    """
    from hwsim.lower import load_model

    bad = [lv for lv in levels if lv not in LEVELS]
    if bad:
        raise VerifyError(f"unknown level(s) {', '.join(bad)}; expected a subset of {', '.join(LEVELS)}")
    if samples < 1:
        raise VerifyError(f"samples must be >= 1, got {samples}")
    notes: list[str] = []
    p = Path(path)
    if graph is None:
        src = resolve(p)
        g, onnx_path, ckpt = src.graph, src.onnx, src.checkpoint
        notes.append(f"hardware graph: {src.graph_source}")
    else:
        g = graph
        onnx_path = p / ONNX_NAME if p.is_dir() else p
        ckpt = p / CHECKPOINT_NAME if p.is_dir() and (p / CHECKPOINT_NAME).is_file() else None
    if x is None:
        x = synthetic_inputs(g, samples, seed)
    else:
        x = np.asarray(x, dtype=np.float32)
    n = x.shape[0]
    logits_t = g.metadata.get("logits") or g.outputs[0]
    label_t = next((t for t in g.outputs if t != logits_t and g.producer(t) is not None
                    and g.producer(t).op_type == "LabelSelect"), None)  # fmt: skip
    omap: dict[str, dict[str, Any]] = g.metadata.get("onnx_tensor_map") or {}
    seconds: dict[str, float] = {}
    counts: dict[str, int] = {}

    # ---- which levels run
    run = [lv for lv in LEVELS if lv in levels]
    torch_model = model
    if "torch" in run and torch_model is None:
        if ckpt is None:
            notes.append("torch level skipped: no checkpoint.pt next to the model (a bare QONNX file)")
            run.remove("torch")
        else:
            try:
                torch_model = load_torch_model(ckpt.parent)
            except Exception as e:  # noqa: BLE001 - any failure to rebuild the model skips the level
                notes.append(f"torch level skipped: cannot load {ckpt} ({type(e).__name__}: {e})")
                run.remove("torch")
    nq = min(n, qonnx_samples) if "qonnx" in run else 0
    if "qonnx" in run and nq < n:
        notes.append(f"qonnx level on the first {nq} of {n} samples (execute_onnx is slow; --qonnx-samples)")

    # ---- run levels
    res: dict[str, dict[str, np.ndarray]] = {}
    for lv in ("ref", "numba"):
        if lv in run:
            t0 = time.perf_counter()
            try:
                parts = []
                for s in range(0, n, chunk):
                    # a frame of a 224 x 224 network takes minutes at level ref: count its seconds meanwhile
                    stage = f"{lv} level: samples {s + 1}-{min(n, s + chunk)} of {n}, seconds"
                    with heartbeat(progress, stage):
                        parts.append(run_sim(g, x[s : s + chunk], lv))
                    if progress is not None:
                        progress(lv, min(n, s + chunk), n)
            except NotImplementedError as e:
                if lv == "ref":
                    raise
                notes.append(f"numba level skipped: {e}")
                run.remove(lv)
                continue
            res[lv] = {k: np.concatenate([pt[k] for pt in parts]) for k in parts[0]}
            seconds[lv] = time.perf_counter() - t0
            counts[lv] = n
    proto = None
    onnx_vals: dict[str, np.ndarray] = {}
    quant: list[OnnxSite] = []
    static_shape: dict[str, tuple[int, ...]] = {}
    if "qonnx" in run or "torch" in run:
        from hwsim.lower.frontend import OnnxModel

        proto = load_model(onnx_path)
        quant = [s for s in onnx_sites(proto) if s.kind == ACTIVATION]
        om = OnnxModel(proto)
        static_shape = {s.tensor: om.shape(s.tensor) or (0, -1) for s in quant}
    if "qonnx" in run:
        want = sorted({r["onnx"] for r in omap.values()} | {s.tensor for s in quant})
        dyn_rec = g.metadata.get("dynamic") or {}
        for rec in dyn_rec.values():
            want.extend(v for k, v in rec.items() if k in ("threshold", "gamma", "zeta"))
        want.extend(o for o in g.metadata.get("onnx_outputs", []))
        t0 = time.perf_counter()
        onnx_vals = run_qonnx(proto, x[:nq], sorted(set(want)), progress)
        seconds["qonnx"] = time.perf_counter() - t0
        counts["qonnx"] = nq
    torch_out: tuple[list[TorchSite], np.ndarray] | None = None
    if "torch" in run:
        t0 = time.perf_counter()
        with heartbeat(progress, f"torch level: {n} samples, seconds"):
            torch_out = torch_sites(torch_model, x)
        seconds["torch"] = time.perf_counter() - t0
        counts["torch"] = n

    # ---- compare
    pairs: list[PairResult] = []
    onnx_logits = (g.metadata.get("onnx_outputs") or [None])[0]
    producer = {t: nd.name for nd in g.nodes for t in nd.outputs}
    by_onnx: dict[str, str] = {}
    for hw, r in omap.items():
        by_onnx.setdefault(r["onnx"], hw)
    matched: list[tuple[int, int]] = []
    if torch_out is not None:
        sites, logits = torch_out

        def same(i: int, j: int) -> bool:
            """PyTorch site ``i`` equals QONNX site ``j`` on the QONNX samples, else on its hardware tensor."""
            t = quant[j].tensor
            if "qonnx" in run:
                return np.array_equal(sites[i].value[:nq], onnx_vals[t])
            hw = by_onnx.get(t)
            if hw is None or "ref" not in res or hw not in res["ref"]:
                return True  # not compared: nothing to re-pair
            return np.array_equal(sites[i].value.astype(np.float64), hw_value(res["ref"][hw], omap[hw]))

        matched, _, _ = pair_sites(
            [(s.name, s.key) for s in sites], [(s.node, s.key(static_shape[s.tensor])) for s in quant], same
        )
    if torch_out is not None and "qonnx" in run:
        pr = PairResult("torch", "qonnx", samples=nq)
        for i, j in matched:
            t = quant[j].tensor
            pr.compare(
                t, sites[i].name, sites[i].value[:nq].astype(np.float64), onnx_vals[t].astype(np.float64)
            )
        if onnx_logits:
            pr.compare(
                "logits",
                onnx_logits,
                logits[:nq].astype(np.float64),
                onnx_vals[onnx_logits].astype(np.float64),
            )
        pairs.append(pr)
    if torch_out is not None and "ref" in res:
        pr = PairResult("torch", "ref", samples=n)
        for i, j in matched:
            t = quant[j].tensor
            if t in by_onnx:
                hw = by_onnx[t]
                pr.compare(
                    hw,
                    producer.get(hw, ""),
                    sites[i].value.astype(np.float64),
                    hw_value(res["ref"][hw], omap[hw]),
                )
        if logits_t in omap:
            pr.compare("logits", producer.get(logits_t, ""), logits.astype(np.float64),
                       hw_value(res["ref"][logits_t], omap[logits_t]))  # fmt: skip
        if label_t is not None:
            pr.compare("label", "label_select", np.argmax(logits, axis=-1), res["ref"][label_t][:, 0])
        pairs.append(pr)
    if "qonnx" in run and "ref" in res:
        pr = PairResult("qonnx", "ref", samples=nq)
        ref = res["ref"]
        for hw, r in omap.items():
            if hw in ref:
                pr.compare(
                    hw,
                    producer.get(hw, ""),
                    onnx_vals[r["onnx"]].astype(np.float64),
                    hw_value(ref[hw][:nq], r),
                )
        sub = {k: v[:nq] for k, v in ref.items()}
        for key, (t, val, scale) in dynamic_values(g, sub).items():
            o = onnx_vals[t].astype(np.float64).reshape(nq, -1) * scale
            pr.compare(key, key.split(".")[0], o, val)
        if label_t is not None and onnx_logits:
            pr.compare("label", "label_select", np.argmax(onnx_vals[onnx_logits].reshape(nq, -1), axis=-1),
                       ref[label_t][:nq, 0])  # fmt: skip
        pairs.append(pr)
    if "ref" in res and "numba" in res:
        pr = PairResult("ref", "numba", samples=n)
        for t, a in res["ref"].items():
            if t in g.inputs:
                continue
            if t not in res["numba"]:
                pr.compare(t, producer.get(t, ""), a, np.zeros((0,)))
                continue
            pr.compare(t, producer.get(t, ""), a, res["numba"][t])
        pairs.append(pr)
    if not pairs:
        notes.append("fewer than two levels ran: nothing was compared")
    return VerifyReport(g.name, counts, pairs, notes, seconds)


def load_torch_model(directory: Path) -> Any:
    """The deployed PyTorch model of the training directory ``directory`` (its ``checkpoint.pt``)."""
    from training.checkpoint import load_checkpoint

    model, _meta = load_checkpoint(directory)
    return model
