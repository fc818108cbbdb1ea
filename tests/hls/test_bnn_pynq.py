"""Brevitas' own BNN-PYNQ W1A1 models (``brevitas_examples.bnn_pynq``, random weights, random BatchNorm and
TensorNorm statistics so that every threshold differs), exported with ``export_qonnx`` as a user would: lowered,
verified (qonnx == ref == numba, and PyTorch), estimated, and C-simulated exactly."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from hls.csim import run_csim
from hls.estimate import estimate, folding_search
from hls.project import write_project
from hwsim import nodes as N
from hwsim.lower import lower
from hwsim.partition import accelerator_part
from verify.levels import verify

pytestmark = [
    pytest.mark.slow,
    pytest.mark.hls,
    pytest.mark.skipif(not (shutil.which("g++") and shutil.which("make")), reason="needs g++ and make"),
]


@pytest.mark.parametrize("name", ["tfc_1w1a", "sfc_1w1a", "lfc_1w1a", "cnv_1w1a"])
def test_bnn_pynq_end_to_end(tmp_path, name):
    pytest.importorskip("brevitas_examples.bnn_pynq")
    from tests.hwsim.foreign import BNN_PYNQ_SHAPES, bnn_pynq, export, unit_inputs

    shape = BNN_PYNQ_SHAPES[name]
    model = bnn_pynq(name)
    path = export(model, tmp_path / f"{name}.onnx", shape)
    g = lower(path)
    ops = [n.op_type for n in g.nodes]
    assert ops[:2] == ["InputQuant", "Sign" if name != "cnv_1w1a" else "MultiThreshold"] and g.nodes[0].key
    assert "FloatTail" in ops and ops[-1] == "LabelSelect"
    stages = [
        n.stage for n in g.nodes if isinstance(n, (N.XnorConv, N.XnorDense)) and n.stage.mode == "threshold"
    ]
    thr = np.concatenate([s.thr for s in stages])
    assert (
        len(stages) == (8 if name == "cnv_1w1a" else 3) and np.unique(thr).size >= 32
    )  # integers of a narrow range
    assert all(s.invert.any() and not s.invert.all() for s in stages)  # negative BN scales

    x = np.concatenate([unit_inputs(shape, 4), np.random.default_rng(1).standard_normal((4, *shape))])
    rep = verify(path, x=x.astype(np.float32), graph=g, model=model, qonnx_samples=8,
                 levels=("torch", "qonnx", "ref", "numba"))  # fmt: skip
    assert len(rep.pairs) == 4 and all(p.tensors > 0 for p in rep.pairs), rep.table()
    for p in rep.pairs:
        if "torch" in (p.a, p.b):
            # every binary activation and label agrees; the float logits of TensorNorm may differ by an ulp
            # (PyTorch and onnxruntime round float32 differently, docs/qonnx-support.md)
            assert set(p.bad_tensors) <= {"logits"}, rep.table()
        else:
            assert p.mismatches == 0, rep.table()

    acc = accelerator_part(g)
    folding = folding_search(g, 10.0, fit="zcu104")
    est = estimate(g, folding, 10.0)
    assert [e.name for e in est.nodes if e.name not in est.forks] == [
        n.name for n in acc.nodes
    ]  # no float tail
    assert est.totals.lut > 0 and est.max_cycles > 0

    prj = write_project(g, tmp_path / "prj", "zcu104", 10.0, folding, tb_frames=0)
    res = run_csim(prj, g, x[:3])
    assert res.total_mismatches == 0 and not res.cycle_mismatches, res.summary()
    assert (
        list(res.outputs) == acc.outputs
    )  # the accelerator ends at the integer logits before the float tail


@pytest.mark.parametrize("variant", ["dynamo", "qonnx_cleanup"])
def test_bnn_pynq_export_variants(tmp_path, variant):
    """TFC exported with the dynamo exporter (external weights file), and TFC after qonnx's cleanup with folded
    weight quantizers and BatchNormToAffine (float Mul + Add before every sign): both lower exactly."""
    pytest.importorskip("brevitas_examples.bnn_pynq")
    from tests.hwsim.foreign import bnn_pynq, unit_inputs

    model = bnn_pynq("tfc_1w1a")
    path = tmp_path / "tfc.onnx"
    if variant == "dynamo":
        import warnings

        import torch
        from brevitas.export import export_qonnx

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            export_qonnx(model, args=torch.rand(1, 1, 28, 28), export_path=str(path), dynamo=True)
    else:
        from qonnx.core.modelwrapper import ModelWrapper
        from qonnx.transformation.batchnorm_to_affine import BatchNormToAffine
        from qonnx.util.cleanup import cleanup_model

        from tests.hwsim.foreign import export

        mw = cleanup_model(ModelWrapper(str(export(model, path, (1, 28, 28)))), preserve_qnt_ops=False)
        mw.transform(BatchNormToAffine()).save(str(path))
    g = lower(path)
    assert [n.op_type for n in g.nodes][:3] == ["InputQuant", "Sign", "Flatten"]
    rep = verify(
        path, x=unit_inputs((1, 28, 28), 8), graph=g, qonnx_samples=8, levels=("qonnx", "ref", "numba")
    )
    assert len(rep.pairs) == 2 and all(p.mismatches == 0 and p.tensors > 0 for p in rep.pairs), rep.table()
