"""Write a complete HLS C++ project for a hardware graph (``dybnn hls``).

Layout of a project directory::

    README.md         what is where, how to run the C simulation and Vitis HLS
    Makefile          g++ C simulation against the ap_types headers of the installed hls4ml package
    run_hls.tcl       Vitis HLS: csim, csynth, cosim, export as IP
    project.json      manifest: graph, part, clock, folding, streams, loop counters, FIFO depths
    top.cpp           the #pragma HLS DATAFLOW top function over hls::stream channels
    src/              dybnn_common.hpp, top.hpp, one header per node instance (from hls/templates/<type>.hpp.j2)
    params/           one header of constant arrays per node with parameters
    tb/               tb.cpp, input.txt (a few synthetic frames) and expected.txt (their hwsim outputs)

The top function takes the graph input as IEEE-754 float32 bit patterns (``ap_uint<32>`` elements) and the
InputQuant node quantizes them exactly with integer logic (round half to even, saturate), so the C simulation
covers the whole graph from the same float input as :func:`hwsim.simulate.simulate`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hls import timing as T
from hls.devices import resolve_part
from hls.emit import EmitError, NodeCode, NodeEnv, ParamArray, Port, c_ident, emit_node, template_env
from hls.folding import MAX_STREAM_BITS, Fold, FoldingError, channels, divisors, validate
from hwsim import nodes as N
from hwsim.graph import HwGraph
from hwsim.partition import accelerator_part
from hwsim.types import Float
from runfiles.layout import PROJECT_JSON as MANIFEST
from runfiles.outputs import has_format, write_owned

FORMAT = "dybnn-hls-project"
VERSION = 1
#: elements per line in parameter tables
LINE = 16


class ProjectError(ValueError):
    """The project cannot be written (unsupported graph, bad output directory); the message says why."""


# ------------------------------------------------------------------------------------------------ ap_types


def ap_types_dir() -> Path:
    """The Xilinx ap_types headers (ap_int.h, hls_stream.h) shipped in the installed hls4ml package."""
    try:
        from importlib.resources import files

        root = Path(str(files("hls4ml")))
    except Exception:  # noqa: BLE001 - any import problem means "not installed"
        root = None
    if root is None or not root.is_dir():
        try:
            import hls4ml

            root = Path(hls4ml.__file__).parent
        except ImportError:
            raise ProjectError(
                "the hls4ml package is not installed: it provides the ap_types headers"
            ) from None
    d = root / "templates" / "vivado" / "ap_types"
    if not (d / "ap_int.h").is_file():
        raise ProjectError(f"{d}: no ap_int.h in the installed hls4ml package")
    return d


# ------------------------------------------------------------------------------------------------ plan


@dataclass
class Plan:
    """Everything the templates need, derived from the graph and the folding."""

    graph: HwGraph  # with stream forks (hls.timing.stream_graph)
    folding: dict[str, Fold]
    output_names: dict[str, str]  # port tensor -> original graph output
    idents: dict[str, str]
    codes: dict[str, NodeCode]
    schedule: T.Timing  # the timing model of the design: FIFO depths, first words, periods
    loops: list[str] = field(default_factory=list)  # "node/loop" by counter id
    counters: dict[str, dict[str, int]] = field(default_factory=dict)
    channels: list[dict[str, Any]] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    in_ports: list[dict[str, Any]] = field(default_factory=list)
    out_ports: list[dict[str, Any]] = field(default_factory=list)
    timing: dict[str, Any] = field(default_factory=dict)
    max_width: int = 0


def top_name(g: HwGraph) -> str:
    """The top function: ``<graph>_top``."""
    return c_ident(g.name) + "_top"


def _check_widths(g: HwGraph, folding: dict[str, Fold]) -> None:
    """Streams wider than HLS allows name the node (folding.validate covers the inputs of most nodes)."""
    for n in g.nodes:
        f = folding.get(n.name, Fold())
        for t in n.outputs:
            bits = g.spec(t).dtype.bits
            el = 1 if isinstance(n, N.LabelSelect) else f.pe
            if el * bits > MAX_STREAM_BITS:
                raise FoldingError(
                    f"node {n.name!r}: output stream of pe*bits = {el * bits} bits exceeds the HLS limit "
                    f"{MAX_STREAM_BITS}; valid pe: {[d for d in divisors(channels(g, n)) if d * bits <= MAX_STREAM_BITS]}"
                )


def make_plan(graph: HwGraph, folding: dict[str, Fold] | None = None) -> Plan:
    """Check the graph and folding, insert stream forks, run every node's emitter and wire the dataflow."""
    folding = dict(folding or {})
    graph = accelerator_part(graph)  # a float tail runs on the host after the accelerator
    graph.validate()
    validate(graph, folding)
    _check_widths(graph, folding)
    if len(graph.inputs) != 1:
        raise ProjectError(
            f"graph {graph.name!r}: the HLS top function takes one input, the graph has {len(graph.inputs)}"
        )
    for c in graph.consumers(graph.inputs[0]):
        if not isinstance(c, (N.InputQuant, N.Duplicate)):
            raise ProjectError(
                f"graph {graph.name!r}: the float input feeds node {c.name!r} ({c.op_type}); only InputQuant reads floats"
            )
    sg = T.stream_graph(graph, folding)
    g, fold = sg.graph, sg.folding
    taken: set[str] = {top_name(g)}
    idents = {n.name: c_ident(n.name, taken) for n in g.nodes}
    codes: dict[str, NodeCode] = {}
    for n in g.nodes:
        env = NodeEnv(g, n, fold.get(n.name, Fold()), idents[n.name])
        try:
            codes[n.name] = emit_node(env)
        except EmitError:
            raise
        except (
            ValueError,
            IndexError,
        ) as e:  # a reshape that does not fit means a folding the node cannot use
            raise EmitError(f"node {n.name!r} ({n.op_type}): cannot generate code: {e}") from None
        want = tuple(T.node_loops(g, n, fold.get(n.name, Fold())))
        if codes[n.name].loops != want:
            raise EmitError(
                f"node {n.name!r}: emitter loops {codes[n.name].loops} differ from the cycle model {want}"
            )
    plan = Plan(g, fold, sg.outputs, idents, codes, T.schedule(sg))
    for n in g.nodes:
        plan.counters[n.name] = {}
        for lp in codes[n.name].loops:
            plan.counters[n.name][lp] = len(plan.loops)
            plan.loops.append(f"{n.name}/{lp}")
    _wire(plan, taken)
    return plan


def _wire(plan: Plan, taken: set[str]) -> None:
    """Channel variables, width converters and calls of the top function; FIFO depths from the timing model."""
    g, tm = plan.graph, plan.schedule
    producer_port: dict[str, Port] = {}
    for n in g.nodes:
        for p in plan.codes[n.name].outputs:
            producer_port[p.tensor] = p
    var_of: dict[str, str] = {}  # tensor -> channel variable as produced
    # top-level ports
    x = g.inputs[0]
    (reader,) = g.consumers(x)
    in_port = next(p for p in plan.codes[reader.name].inputs if p.tensor == x)
    v = c_ident("in_" + x, taken)
    var_of[x] = v
    elems = _elems(g, x)
    plan.in_ports.append({"var": v, "tensor": x, "width": in_port.width, "elems": elems,
                          "elems_per_word": in_port.elems, "words": elems // in_port.elems, "num": in_port.num})  # fmt: skip
    plan.timing[v] = {"first": 0.0, "period": elems // in_port.elems}
    out_vars: dict[str, str] = {}
    for t in g.outputs:
        p = producer_port[t]
        ov = c_ident("out_" + plan.output_names[t], taken)
        out_vars[t] = ov
        el = _elems(g, t)
        plan.out_ports.append({"var": ov, "tensor": plan.output_names[t], "width": p.width, "elems": el,
                               "elems_per_word": p.elems, "words": el // p.elems, "num": p.num})  # fmt: skip
    chan: dict[str, dict[str, Any]] = {}
    for t, p in producer_port.items():
        if t in out_vars:
            var_of[t] = out_vars[t]
        else:
            var_of[t] = c_ident("s_" + t, taken)
            chan[var_of[t]] = {"var": var_of[t], "width": p.width, "label": t, "depth": T.DEFAULT_DEPTH,
                               "producer": g.producer(t).name, "consumer": None}  # fmt: skip
            plan.channels.append(chan[var_of[t]])
    dwc_id = len(plan.loops)
    for n in g.nodes:
        code = plan.codes[n.name]
        args = []
        for p in code.inputs:
            src = var_of[p.tensor]
            have = producer_port[p.tensor].elems if p.tensor in producer_port else p.elems
            c = tm.channel(n.name, p.tensor)
            if (c.elems, c.src_elems) != (p.elems, have):
                raise EmitError(
                    f"node {n.name!r}: stream {p.tensor!r} carries {have} -> {p.elems} elements per word, the "
                    f"timing model {c.src_elems} -> {c.elems}"
                )
            if c.converter:  # the consumer folds the tensor differently: width converter
                dv = c_ident(f"s_{p.tensor}_{p.elems}", taken)
                label = f"{p.tensor}__dwc/dwc"
                plan.channels.append({"var": dv, "width": p.width, "label": f"{p.tensor} ({p.elems} per word)",
                                      "depth": c.depth, "producer": label, "consumer": n.name})  # fmt: skip
                if src in chan:
                    chan[src]["depth"], chan[src]["consumer"] = c.src_depth, label
                plan.loops.append(label)
                plan.calls.append({"kind": "dwc", "in_e": have, "out_e": p.elems, "bits": p.num.bits,
                                   "total": _elems(g, p.tensor), "counter": dwc_id, "args": [src, dv],
                                   "label": label, "iterations": c.converter_iterations})  # fmt: skip
                plan.timing[dv] = {"first": float(c.first), "period": int(c.period)}
                dwc_id += 1
                src = dv
            elif src in chan:
                chan[src]["depth"], chan[src]["consumer"] = c.depth, n.name
            args.append(src)
        args += [var_of[p.tensor] for p in code.outputs]
        for p in code.outputs:
            plan.timing[var_of[p.tensor]] = {
                "first": float(tm.first[n.name]),
                "period": int(tm.period[n.name]),
            }
        plan.calls.append({"kind": "node", "ns": plan.idents[n.name], "args": args, "op_type": n.op_type})
    widths = [c["width"] for c in plan.channels] + [p["width"] for p in plan.in_ports + plan.out_ports]
    plan.max_width = max(widths)


def _elems(g: HwGraph, t: str) -> int:
    n = 1
    for d in g.spec(t).shape:
        n *= d
    return n


# ------------------------------------------------------------------------------------------------ rendering


def _array_ctx(a: ParamArray) -> dict[str, Any]:
    data = np.asarray(a.data)
    flat = data.reshape(-1, data.shape[-1]) if data.ndim > 1 else data.reshape(1, -1)
    lines = []
    for row in flat:
        vals = [int(v) for v in row]
        lines += [vals[i : i + LINE] for i in range(0, len(vals), LINE)]
    hex_ok = a.name == "weights" and not a.num.signed and a.num.bits > 1
    return {"name": a.name, "num": a.num, "shape": list(data.shape), "lines": lines, "comment": a.comment,
            "fmt": "c_hex" if hex_ok else "c_int"}  # fmt: skip


def render(plan: Plan, part: str, clock_ns: float, tb_frames: int = 0) -> dict[str, str]:
    """All files of the project as ``{relative path: text}`` (tb/input.txt and tb/expected.txt excluded)."""
    env = template_env()
    g = plan.graph
    top = top_name(g)
    files: dict[str, str] = {}
    ap_max = max(1024, ((plan.max_width + 1 + 1023) // 1024) * 1024)
    files["src/dybnn_common.hpp"] = env.get_template("common.hpp.j2").render(
        graph_name=g.name, ap_int_max_w=ap_max, n_loops=len(plan.loops)
    )
    headers = []
    for n in g.nodes:
        code = plan.codes[n.name]
        ns = plan.idents[n.name]
        base = {
            "ns": ns, "node_name": n.name, "op_type": n.op_type, "summary": code.summary,
            "module": _module_of(n), "has_params": bool(code.params), "counter": plan.counters[n.name],
        }  # fmt: skip
        files[f"src/{ns}.hpp"] = env.get_template(code.template).render(**base, **code.context)
        headers.append(f"{ns}.hpp")
        if code.params:
            files[f"params/{ns}.h"] = env.get_template("params.h.j2").render(
                ns=ns,
                node_name=n.name,
                op_type=n.op_type,
                arrays=[_array_ctx(a) for a in code.params if a.data.size],
            )
    ports = plan.in_ports + plan.out_ports
    files["src/dybnn_top.hpp"] = env.get_template("top.hpp.j2").render(
        graph_name=g.name, top=top, ports=ports
    )
    files["top.cpp"] = env.get_template("top.cpp.j2").render(
        graph_name=g.name,
        top=top,
        ports=ports,
        headers=headers,
        channels=plan.channels,
        calls=plan.calls,
        n_nodes=len(g.nodes),
    )
    files["tb/tb.cpp"] = env.get_template("tb.cpp.j2").render(
        graph_name=g.name,
        top=top,
        ports=ports,
        input=plan.in_ports[0],
        outputs=plan.out_ports,
        loops=plan.loops,
    )
    files["Makefile"] = env.get_template("Makefile.j2").render(
        graph_name=g.name, ap_types=str(ap_types_dir())
    )
    files["run_hls.tcl"] = env.get_template("run_hls.tcl.j2").render(
        graph_name=g.name,
        top=top,
        part=part,
        clock_ns=_clock(clock_ns),
        project_name=c_ident(g.name, set()) + "_hls",
    )
    node_rows = [
        {"name": n.name, "ns": plan.idents[n.name], "op_type": n.op_type,
         "pe": plan.folding.get(n.name, Fold()).pe, "simd": plan.folding.get(n.name, Fold()).simd,
         "cycles": plan.schedule.nodes[n.name].cycles}
        for n in g.nodes
    ]  # fmt: skip
    deep = [c for c in plan.channels if c["depth"] > T.DEFAULT_DEPTH]
    files["README.md"] = env.get_template("README.md.j2").render(
        graph_name=g.name,
        top=top,
        part=part,
        clock_ns=_clock(clock_ns),
        nodes=node_rows,
        deep=deep,
        input=plan.in_ports[0],
        outputs=plan.out_ports,
        tb_frames=tb_frames,
        bottleneck=max(node_rows, key=lambda r: r["cycles"]),
        latency=plan.schedule.latency,
    )
    return files


def _clock(clock_ns: float) -> str:
    return f"{float(clock_ns):g}"


def _module_of(n: N.Node) -> str:
    import re

    return re.sub(r"(?<!^)(?=[A-Z])", "_", n.op_type).lower().replace("p_re_l_u", "prelu")


def manifest(plan: Plan, part: str, clock_ns: float) -> dict[str, Any]:
    g = plan.graph
    return {
        "format": FORMAT,
        "version": VERSION,
        "graph": g.name,
        "top": top_name(g),
        "part": part,
        "clock_ns": float(clock_ns),
        "folding": {
            k: {
                "pe": f.pe,
                "simd": f.simd,
                **({"buffers": f.buffers} if f.buffers != 1 else {}),
                **({"buffer_storage": f.storage} if f.storage != "values" else {}),
            }
            for k, f in plan.folding.items()
        },
        "input": {k: v for k, v in plan.in_ports[0].items() if k != "num"},
        "outputs": [
            {**{k: v for k, v in p.items() if k != "num"}, "bits": p["num"].bits, "signed": p["num"].signed}
            for p in plan.out_ports
        ],
        "loops": plan.loops,
        "node_loops": {n.name: list(plan.codes[n.name].loops) for n in g.nodes},
        "node_cycles": {n.name: plan.schedule.nodes[n.name].cycles for n in g.nodes},
        "fifos": [
            {
                "var": c["var"],
                "tensor": c["label"],
                "producer": c["producer"],
                "consumer": c["consumer"],
                "width": c["width"],
                "depth": c["depth"],
            }
            for c in plan.channels
        ],
        "timing": plan.timing,
        "latency_cycles": plan.schedule.latency,
        "width_converters": {c["label"]: c["iterations"] for c in plan.calls if c["kind"] == "dwc"},
    }


# ------------------------------------------------------------------------------------------------ writing


def is_project(d: Path) -> bool:
    return has_format(d, MANIFEST, FORMAT)


def write_project(
    graph: HwGraph,
    out_dir: str | os.PathLike,
    part: str,
    clock_ns: float,
    folding: dict[str, Fold] | None = None,
    *,
    tb_frames: int = 1,
    seed: int = 0,
    probes: Sequence[str] | str | None = None,
    made_from: dict | None = None,
) -> Path:
    """Write the HLS project of ``graph`` into ``out_dir`` atomically and return its path.

    ``part`` is a full part name or a board alias (resolved by :func:`hls.devices.resolve_part`); ``folding`` maps
    node names to :class:`~hls.folding.Fold` (missing nodes: ``pe = simd = 1``). ``tb_frames`` synthetic
    standard-normal frames go to ``tb/input.txt`` with their hwsim outputs in ``tb/expected.txt`` so that
    ``make csim`` and the Vitis flow check themselves. An existing ``out_dir`` must be a dybnn HLS project (or
    empty); a rewrite replaces only the project's own files (listed in ``.dybnn-hls.json`` with ``made_from``,
    e.g. the hash of the graph), so files a user added, and ``build/``, stay. ``probes`` (tensor names, or ``"all"``) become extra outputs of the top function so
    that a C simulation can compare intermediate tensors too (debugging, tests).

    Raises:
        FoldingError: a folding factor does not divide its dimension, or a stream is too wide (names the node).
        ProjectError / EmitError: unsupported graph or output directory.
        ValueError: unknown part (from :func:`hls.devices.resolve_part`, listing the known parts).
    """
    if clock_ns is None or not float(clock_ns) > 0:
        raise ProjectError(f"clock period must be positive, got {clock_ns!r} ns")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ProjectError(f"{out} exists and is not a directory")
    if out.exists() and any(out.iterdir()) and not is_project(out):
        raise ProjectError(
            f"{out} exists and is not a dybnn HLS project (no {MANIFEST}); refusing to overwrite it"
        )
    full_part = resolve_part(part).part
    graph = with_probes(accelerator_part(graph), probes)
    plan = make_plan(graph, folding)
    files = render(plan, full_part, clock_ns, tb_frames)
    doc = manifest(plan, full_part, clock_ns)

    def write(tmp: Path) -> None:
        for rel, text in files.items():
            p = tmp / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text)
        (tmp / MANIFEST).write_text(json.dumps(doc, indent=1))
        if tb_frames > 0:
            x = np.random.default_rng(seed).standard_normal((tb_frames, *graph.spec(graph.inputs[0]).shape))
            write_inputs(tmp / "tb" / "input.txt", graph, x)
            write_expected(tmp / "tb" / "expected.txt", graph, x, doc)
        else:
            write_inputs(tmp / "tb" / "input.txt", graph, np.zeros((0, *graph.spec(graph.inputs[0]).shape)))
            (tmp / "tb" / "expected.txt").write_text("")

    # Only the project's own files are replaced (and the ones an older version of it had and this one has
    # not are removed): notes, build/ and anything else the user keeps in the project stay.
    write_owned(out, "hls", write, made_from, claim=is_project)
    return out


def with_probes(graph: HwGraph, probes: Sequence[str] | str | None) -> HwGraph:
    """``graph`` with the ``probes`` tensors (or every tensor but the input, ``"all"``) as extra outputs."""
    if not probes:
        return graph
    names = [t for t in graph.tensors if t not in graph.inputs] if probes == "all" else list(probes)
    for t in names:
        if t not in graph.tensors or t in graph.inputs:
            raise ProjectError(f"probe {t!r} is not an intermediate tensor of graph {graph.name!r}")
    produced = [t for n in graph.nodes for t in n.outputs]
    outs = list(graph.outputs) + [t for t in produced if t in names and t not in graph.outputs]
    return HwGraph(graph.name, list(graph.inputs), outs, graph.tensors, graph.nodes, graph.metadata)


# ------------------------------------------------------------------------------------------------ tb data


def float_bits(graph: HwGraph, x: np.ndarray) -> np.ndarray:
    """The graph input batch as float32 bit patterns ``(N, elems)`` in channels-last order."""
    from hwsim.simulate import to_graph_layout

    spec = graph.spec(graph.inputs[0])
    if not isinstance(spec.dtype, Float):
        raise ProjectError(
            f"graph {graph.name!r}: input {graph.inputs[0]!r} is {spec.dtype}, expected float32"
        )
    xs = to_graph_layout(np.asarray(x, dtype=np.float32), spec)
    return np.ascontiguousarray(xs, dtype=np.float32).reshape(xs.shape[0], -1).view(np.uint32)


def write_inputs(path: Path, graph: HwGraph, x: np.ndarray) -> None:
    bits = float_bits(graph, x) if len(x) else np.zeros((0, 1), np.uint32)
    elems = _elems(graph, graph.inputs[0])
    with open(path, "w") as f:
        f.write(f"{len(bits)} {elems}\n")
        for row in bits:
            f.write(" ".join(map(str, row.tolist())) + "\n")


def expected_outputs(graph: HwGraph, x: np.ndarray) -> dict[str, np.ndarray]:
    """hwsim reference outputs as int64 ``(N, elems)`` arrays, by graph output name."""
    from hwsim.simulate import simulate

    res = simulate(graph, np.asarray(x, dtype=np.float32), level="ref")
    return {t: np.asarray(res[t]).astype(np.int64).reshape(len(x), -1) for t in graph.outputs}


def write_expected(path: Path, graph: HwGraph, x: np.ndarray, doc: dict[str, Any]) -> None:
    exp = expected_outputs(graph, x)
    with open(path, "w") as f:
        for i in range(len(x)):
            for k, o in enumerate(doc["outputs"]):
                f.write(f"{k} " + " ".join(map(str, exp[o["tensor"]][i].tolist())) + "\n")


__all__ = [
    "FORMAT",
    "Plan",
    "ProjectError",
    "ap_types_dir",
    "expected_outputs",
    "float_bits",
    "is_project",
    "make_plan",
    "render",
    "write_project",
]
