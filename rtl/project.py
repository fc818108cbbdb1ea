"""Write the RTL design of a hardware graph (``dybnn rtl``): the same graph, folding, streams and FIFO depths as
the HLS project (:func:`hls.project.make_plan`), as SystemVerilog.

Layout of a project directory::

    README.md         what is where; how to simulate
    project.json      manifest: graph, part, clock, folding, ports, FIFOs (depth, style), instances, model timing
    files.f           the source list in compilation order (Verilator and Yosys read it)
    lib/              the library modules (copies of rtl/lib/*.sv)
    top.sv            the generated top module: HLS port names and word layout, node instances, FIFOs
    mem/              one $readmemh image per memory of an instance (<instance>_<name>.mem)
    tb/               dybnn_sim.sv (a simulation wrapper with uniform port names and FIFO levels) and tb.cpp
                      (the Verilator C++ testbench); `dybnn rtl --sim` builds them under build/

**Top module.** ``<graph>_top`` with ``ap_clk``, ``ap_rst_n`` (synchronous, active low) and one AXI stream per
port of the HLS top function, in its order (the input, then the outputs), named as Vitis HLS names an
``axis`` port: ``<port>_TDATA`` / ``_TVALID`` / ``_TREADY``. A word holds the elements the HLS stream word
holds (:mod:`hwsim.encoding`: element ``i`` at bits ``[i*B, (i+1)*B)``), TDATA rounded up to whole bytes as in
Vitis HLS (the pad bits are 0 on outputs, ignored on inputs). With ``DYBNN_SIM`` defined the top also exposes
the occupancy and the handshakes of every FIFO (``dbg_level``, ``dbg_fire``).

**FIFOs.** Every stream between two nodes (and around a width converter) is a ``dybnn_fifo`` with the depth of
:mod:`hls.timing`; its style follows the estimator's FIFO rule (:func:`hls.estimate.memory.fifo_cost`): per-bit
shift registers (SRL) when shallow, else LUTRAM, BRAM or URAM (``ram_style``).
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import numpy as np

from hls.devices import resolve_part
from hls.emit import NodeEnv, jinja_env
from hls.estimate.memory import fifo_cost
from hls.folding import Fold
from hls.folding import to_json as folding_to_json
from hls.project import Plan, expected_outputs, float_bits, make_plan, top_name, with_probes
from hwsim.graph import HwGraph
from hwsim.partition import accelerator_part
from rtl.modules import LIB_DIR, Instance, RtlError, instance_of
from runfiles.outputs import has_format, write_owned

FORMAT = "dybnn-rtl-project"
VERSION = 1
MANIFEST = "project.json"
OWNER = "rtl"
#: estimator FIFO style -> the dybnn_fifo STYLE parameter
FIFO_STYLE = {"srl": "srl", "lutram": "distributed", "bram": "block", "uram": "ultra"}


@dataclass
class StreamPort:
    """One AXI stream of the top module (a port of the HLS top function)."""

    var: str
    direction: str  # "in" or "out"
    tensor: str
    width: int  # bits of the data word
    elems_per_word: int
    bits: int  # bits per element
    signed: bool
    words: int  # words per frame
    elems: int

    @property
    def tdata_w(self) -> int:
        """TDATA width: the word rounded up to whole bytes (Vitis HLS ``axis``)."""
        return 8 * math.ceil(self.width / 8)


@dataclass
class Fifo:
    var: str
    width: int
    depth: int
    style: str
    producer: str
    consumer: str | None
    label: str


@dataclass
class RtlPlan:
    hls: Plan
    part: str
    instances: dict[str, Instance]
    idents: dict[str, str]
    ports: list[StreamPort]
    fifos: list[Fifo]
    calls: list[dict[str, Any]] = field(default_factory=list)

    @property
    def graph(self) -> HwGraph:
        return self.hls.graph

    @property
    def top(self) -> str:
        return top_name(self.hls.graph)


def make_rtl_plan(graph: HwGraph, folding: dict[str, Fold] | None, part: str) -> RtlPlan:
    """The HLS plan of ``graph`` (streams, forks, converters, FIFO depths from the timing model) and the RTL
    instance of every node."""
    dev = resolve_part(part)
    plan = make_plan(graph, folding)
    lv = next((k for k, f in plan.folding.items() if f.storage == "levels"), None)
    if lv is not None:  # buffer_storage: levels (hls.levels) is in the HLS templates only
        raise RtlError(
            f"node {lv!r}: the RTL back end does not implement buffer_storage 'levels' (level storage in the "
            "DynamicSign frame buffer); use 'values' in the folding, or dybnn hls"
        )
    g = plan.graph
    has_uram = dev.uram > 0
    instances = {}
    for n in g.nodes:
        env = NodeEnv(g, n, plan.folding.get(n.name, Fold()), plan.idents[n.name], has_uram)
        try:
            instances[n.name] = instance_of(env, plan.codes[n.name])
        except RtlError:
            raise
        except (ValueError, IndexError, KeyError) as e:
            raise RtlError(f"node {n.name!r} ({n.op_type}): cannot generate RTL: {e}") from None
    ports = []
    for p, d in [(plan.in_ports[0], "in")] + [(p, "out") for p in plan.out_ports]:
        ports.append(StreamPort(p["var"], d, p["tensor"], p["width"], p["elems_per_word"], p["num"].bits,
                                p["num"].signed, p["words"], p["elems"]))  # fmt: skip
    fifos = [
        Fifo(c["var"], c["width"], c["depth"], FIFO_STYLE[fifo_cost(c["depth"], c["width"], has_uram=has_uram).style],
             c["producer"], c["consumer"], c["label"])
        for c in plan.channels
    ]  # fmt: skip
    return RtlPlan(plan, dev.part, instances, dict(plan.idents), ports, fifos)


# ------------------------------------------------------------------------------------------------ rendering

_ENV: jinja2.Environment | None = None


def template_env() -> jinja2.Environment:
    global _ENV
    if _ENV is None:
        _ENV = jinja_env("rtl", sv=_sv_value)
    return _ENV


def _sv_value(v: Any) -> str:
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, bool):
        return "1'b1" if v else "1'b0"
    return str(int(v))


def mem_path(ident: str, name: str) -> str:
    return f"mem/{ident}_{name.lower()}.mem"


def instance_params(rp: RtlPlan, node: str) -> dict[str, int | str]:
    """The SV parameters of ``node``'s instance, the ``<X>_INIT_FILE`` paths of its memory images included."""
    inst = rp.instances[node]
    params = dict(inst.params)
    for m in inst.mems:
        if m.kind == "rom":
            params[f"{m.name}_INIT_FILE"] = mem_path(rp.idents[node], m.name)
    return params


def _dwc_params(c: dict[str, Any]) -> dict[str, int]:
    return {"IN_E": c["in_e"], "OUT_E": c["out_e"], "BITS": c["bits"], "G": math.gcd(c["in_e"], c["out_e"])}


def _context(rp: RtlPlan) -> dict[str, Any]:
    """Plain values for top.sv.j2 and the testbench templates."""
    plan = rp.hls
    g = plan.graph
    port_vars = {p.var for p in rp.ports}
    fifo_vars = {f.var for f in rp.fifos}
    widths = {f.var: f.width for f in rp.fifos}
    for p in rp.ports:
        widths[p.var] = p.width

    def src(var: str) -> str:  # the consumer end of a stream
        return var if var in port_vars else f"{var}_r"

    def dst(var: str) -> str:  # the producer end of a stream
        return var if var in port_vars else f"{var}_w"

    insts = []
    node_calls = iter([c for c in plan.calls if c["kind"] == "node"])
    by_node = {}
    for n in g.nodes:
        by_node[n.name] = next(node_calls)
    dwcs = []
    for c in plan.calls:
        if c["kind"] == "dwc":
            a, b = c["args"]
            dwcs.append({"name": f"u_dwc_{b}", "params": _dwc_params(c), "src": src(a), "dst": dst(b)})
    for n in g.nodes:
        inst = rp.instances[n.name]
        code = plan.codes[n.name]
        ident = rp.idents[n.name]
        args = by_node[n.name]["args"]
        nin = len(code.inputs)
        params = instance_params(rp, n.name)
        ins = [{"sig": src(v), "width": p.width} for v, p in zip(args[:nin], code.inputs, strict=True)]
        outs = [{"sig": dst(v), "width": p.width} for v, p in zip(args[nin:], code.outputs, strict=True)]
        in_w = max(i["width"] for i in ins)
        for i in ins:
            i["pad"] = in_w - i["width"]
        insts.append({"name": f"u_{ident}", "node": n.name, "op_type": n.op_type, "module": inst.module,
                      "params": params, "ins": ins, "outs": outs, "packed_in": inst.packed_inputs,
                      "packed_out": inst.packed_outputs, "summary": code.summary})  # fmt: skip
    wires = []
    for f in rp.fifos:
        wires += [
            {"sig": f"{f.var}_w", "width": widths[f.var]},
            {"sig": f"{f.var}_r", "width": widths[f.var]},
        ]
    for p in rp.ports:
        wires.append({"sig": p.var, "width": p.width})
    del fifo_vars
    return {
        "graph_name": g.name, "top": rp.top, "ports": rp.ports, "fifos": rp.fifos, "insts": insts, "dwcs": dwcs,
        "wires": wires, "n_dbg": max(1, len(rp.fifos)), "part": rp.part,
    }  # fmt: skip


def render(rp: RtlPlan) -> dict[str, str]:
    """All text files of the project (``{relative path: text}``), memory images included."""
    env = template_env()
    ctx = _context(rp)
    files = {
        "top.sv": env.get_template("top.sv.j2").render(**ctx),
        "tb/dybnn_sim.sv": env.get_template("sim.sv.j2").render(**ctx),
        "tb/tb.cpp": env.get_template("tb.cpp.j2").render(**ctx),
    }
    for n in rp.graph.nodes:
        ident = rp.idents[n.name]
        for m in rp.instances[n.name].mems:
            if m.kind != "rom":
                continue
            digits = max(1, math.ceil(m.width / 4))
            files[mem_path(ident, m.name)] = "".join(f"{w:0{digits}x}\n" for w in m.words)
    libs = sorted(p.name for p in LIB_DIR.glob("*.sv"))
    files["files.f"] = "".join(f"lib/{x}\n" for x in libs) + "top.sv\n"
    files["README.md"] = env.get_template("README.md.j2").render(**ctx, libs=libs)
    return files


def manifest(rp: RtlPlan, clock_ns: float) -> dict[str, Any]:
    plan = rp.hls
    tm = plan.schedule
    g = plan.graph
    return {
        "format": FORMAT,
        "version": VERSION,
        "graph": g.name,
        "top": rp.top,
        "part": rp.part,
        "clock_ns": float(clock_ns),
        "folding": folding_to_json(plan.folding),  # with each dynamic unit's buffers (dybnn synth reads it)
        "ports": [
            {
                "var": p.var,
                "direction": p.direction,
                "tensor": p.tensor,
                "width": p.width,
                "tdata_width": p.tdata_w,
                "elems_per_word": p.elems_per_word,
                "bits": p.bits,
                "signed": p.signed,
                "words": p.words,
                "elems": p.elems,
            }
            for p in rp.ports
        ],  # fmt: skip
        "fifos": [
            {
                "var": f.var,
                "tensor": f.label,
                "producer": f.producer,
                "consumer": f.consumer,
                "width": f.width,
                "depth": f.depth,
                "style": f.style,
            }
            for f in rp.fifos
        ],  # fmt: skip
        "instances": {
            n.name: {
                "instance": f"u_{rp.idents[n.name]}",
                "module": rp.instances[n.name].module,
                "op_type": n.op_type,
                # the instance's SV parameters (``dybnn synth`` elaborates each instance alone with them)
                "params": instance_params(rp, n.name),
            }
            for n in g.nodes
        },  # fmt: skip
        "width_converters": [
            {"instance": f"u_dwc_{c['args'][1]}", "params": _dwc_params(c)}
            for c in plan.calls
            if c["kind"] == "dwc"
        ],
        "node_cycles": {n.name: tm.nodes[n.name].cycles for n in g.nodes},
        "model": {"cycles_per_frame": tm.max_cycles, "latency_cycles": tm.latency},
    }


# ------------------------------------------------------------------------------------------------ writing


def is_project(d: Path) -> bool:
    return has_format(d, MANIFEST, FORMAT)


def write_rtl_project(
    graph: HwGraph,
    out_dir: str | os.PathLike,
    part: str,
    clock_ns: float,
    folding: dict[str, Fold] | None = None,
    *,
    probes: Sequence[str] | str | None = None,
    made_from: dict | None = None,
) -> Path:
    """Write the RTL project of ``graph`` into ``out_dir`` atomically (only the project's own files are
    replaced: ``build/`` and a user's files stay) and return its path.

    ``probes`` (tensor names, or ``"all"``) become extra output ports, as in the HLS project.

    Raises:
        FoldingError / EmitError / RtlError: the folding or a node cannot be generated (names the node).
        ValueError: unknown part.
        runfiles.outputs.OutputError: ``out_dir`` holds other files and is not an RTL project.
    """
    if clock_ns is None or not float(clock_ns) > 0:
        raise RtlError(f"clock period must be positive, got {clock_ns!r} ns")
    out = Path(out_dir)
    graph = with_probes(accelerator_part(graph), probes)
    rp = make_rtl_plan(graph, folding, part)
    files = render(rp)
    doc = manifest(rp, clock_ns)

    def write(tmp: Path) -> None:
        for rel, text in files.items():
            p = tmp / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text)
        for lib in LIB_DIR.glob("*.sv"):
            (tmp / "lib").mkdir(exist_ok=True)
            shutil.copyfile(lib, tmp / "lib" / lib.name)
        (tmp / MANIFEST).write_text(json.dumps(doc, indent=1))

    write_owned(out, OWNER, write, made_from, claim=is_project)
    return out


def load_manifest(prj: str | os.PathLike) -> dict[str, Any]:
    p = Path(prj) / MANIFEST
    try:
        doc = json.loads(p.read_text())
    except (OSError, ValueError) as e:
        raise RtlError(f"{p}: not a dybnn RTL project ({e})") from None
    if doc.get("format") != FORMAT:
        raise RtlError(f"{p}: format {doc.get('format')!r}, expected {FORMAT!r}")
    return doc


# ------------------------------------------------------------------------------------------------ words


def input_words(graph: HwGraph, x: np.ndarray, port: dict[str, Any]) -> np.ndarray:
    """The input frames as stream words: ``(frames, words, elems_per_word)`` uint32 float32 bit patterns."""
    bits = float_bits(graph, x)
    return bits.reshape(len(x), port["words"], port["elems_per_word"])


def unpack_words(words: list[int], port: dict[str, Any]) -> np.ndarray:
    """Stream words (ints) -> elements (int64; signed ones sign-extended), in stream order."""
    b, e = port["bits"], port["elems_per_word"]
    mask = (1 << b) - 1
    out = np.empty(len(words) * e, dtype=np.int64)
    k = 0
    for w in words:
        for i in range(e):
            v = (w >> (i * b)) & mask
            if port["signed"] and v >> (b - 1):
                v -= 1 << b
            out[k] = v
            k += 1
    return out


__all__ = [
    "FORMAT",
    "MANIFEST",
    "Fifo",
    "RtlPlan",
    "StreamPort",
    "expected_outputs",
    "input_words",
    "is_project",
    "load_manifest",
    "make_rtl_plan",
    "render",
    "unpack_words",
    "write_rtl_project",
]
