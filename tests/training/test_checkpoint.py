"""Checkpoint files: atomic writes, exact model round trip, and one-line errors for anything else."""

import pytest
import torch

from runfiles.outputs import atomic_write_json
from training.checkpoint import (
    FORMAT,
    VERSION,
    CheckpointError,
    atomic_torch_save,
    build_from_checkpoint,
    load_checkpoint,
    model_config_from_dict,
    model_config_to_dict,
    model_state_dict,
    quant_stats_state,
)
from training.models import ModelConfig, build_model
from training.steps import apply_step, binary_weight_quant_enabled


def _checkpoint(model, name, step, folded):
    return {
        "format": FORMAT,
        "version": VERSION,
        "model_name": name,
        "input_shape": list(model.input_shape),
        "num_classes": model.num_classes,
        "model_config": model_config_to_dict(ModelConfig()),
        "model_state": model_state_dict(model),
        "quant_stats": quant_stats_state(model),
        "step": step,
        "folded": folded,
        "epoch": 1,
    }


@pytest.mark.parametrize("step", [1, 2, 3])
def test_round_trip_is_exact_in_every_step(tmp_path, rng, step):
    torch.manual_seed(0)
    model = build_model("dybnn-tiny", (1, 12, 12))
    apply_step(model, step)
    model.train()
    x = torch.from_numpy(rng.standard_normal((8, 1, 12, 12))).float()
    for _ in range(3):  # a few statistics-collection steps
        model(x)
    model.eval()
    path = tmp_path / "c.pt"
    atomic_torch_save(path, _checkpoint(model, "dybnn-tiny", step, step == 3))
    loaded, meta = load_checkpoint(path)
    assert meta["step"] == step and binary_weight_quant_enabled(loaded) == (step >= 2)
    assert torch.equal(loaded(x), model(x))
    # statistics collection continues where it stopped
    assert quant_stats_state(loaded).keys() == quant_stats_state(model).keys()
    assert all(s["counter"] == 3 for s in quant_stats_state(loaded).values())


def test_model_config_round_trip():
    cfg = ModelConfig(ste="hardtanh", pad_value=-1.0)
    assert model_config_from_dict(model_config_to_dict(cfg)) == cfg


def _one_line_error(path) -> str:
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path)
    msg = str(err.value)
    assert "\n" not in msg and str(path) in msg
    return msg


def test_missing_and_empty_directory(tmp_path):
    assert "no such file or directory" in _one_line_error(tmp_path / "nowhere")
    assert "no checkpoint.pt" in _one_line_error(tmp_path)


def test_corrupt_file(tmp_path, rng):
    model = build_model("tfc-w1a1", (1, 4, 4))
    good = tmp_path / "good.pt"
    atomic_torch_save(good, _checkpoint(model, "tfc-w1a1", 2, False))
    bad = tmp_path / "truncated.pt"
    bad.write_bytes(good.read_bytes()[:500])
    assert "unreadable" in _one_line_error(bad)
    noise = tmp_path / "noise.pt"
    noise.write_bytes(rng.integers(0, 256, 4096, dtype="uint8").tobytes())
    assert "unreadable" in _one_line_error(noise)


def test_foreign_files(tmp_path):
    plain = tmp_path / "plain.pt"
    torch.save({"state_dict": {"w": torch.zeros(2)}}, plain)
    assert f"not a dybnn checkpoint (no 'format': '{FORMAT}' tag)" in _one_line_error(plain)
    tensor = tmp_path / "tensor.pt"
    torch.save(torch.zeros(3), tensor)
    assert "not a dybnn checkpoint" in _one_line_error(tensor)
    js = tmp_path / "x.json"
    atomic_write_json(js, {"format": FORMAT})
    assert "unreadable" in _one_line_error(js)


def test_future_version_and_missing_fields(tmp_path):
    newer = tmp_path / "newer.pt"
    torch.save({"format": FORMAT, "version": 99}, newer)
    assert "version 99 is not supported" in _one_line_error(newer)
    partial = tmp_path / "partial.pt"
    torch.save({"format": FORMAT, "version": 1, "model_name": "tfc-w1a1"}, partial)
    assert "lacks" in _one_line_error(partial)


def test_state_that_does_not_fit(tmp_path):
    model = build_model("tfc-w1a1", (1, 4, 4))
    ckpt = _checkpoint(model, "tfc-w1a1", 2, False)
    ckpt["num_classes"] = 7
    with pytest.raises(CheckpointError, match="does not fit model 'tfc-w1a1'"):
        build_from_checkpoint(ckpt)
    ckpt = _checkpoint(model, "no-such-model", 2, False)
    with pytest.raises(CheckpointError, match="not in this version's registry"):
        build_from_checkpoint(ckpt)


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    atomic_write_json(tmp_path / "m.json", {"a": 1})
    atomic_write_json(tmp_path / "m.json", {"a": 2})
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]
    with pytest.raises(TypeError):
        atomic_write_json(tmp_path / "m.json", {"a": object()})
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]
    assert (tmp_path / "m.json").read_text().strip().endswith("}")


def test_checkpoint_from_before_pre_q_is_refused_in_one_line(tmp_path):
    """A checkpoint written before GlobalSumShift gained its 8-bit requantizer ``pre_q`` lacks its state; the
    scale is a statistic of the training run and the old model computed another function, so it is refused."""
    model = build_model("dybnn-tiny")
    ckpt = _checkpoint(model, "dybnn-tiny", 1, False)
    old = {k: v for k, v in ckpt["model_state"].items() if ".pre_q." not in k}
    assert len(old) < len(ckpt["model_state"])
    ckpt["model_state"] = old
    f = tmp_path / "old.pt"
    torch.save(ckpt, f)
    msg = _one_line_error(f)
    assert str(f) in msg and "pre_q" in msg and "dybnn train" in msg and "--random-init" in msg
    # other key mismatches name a key
    ckpt["model_state"] = {**old, "stem.extra": torch.zeros(1)}
    torch.save(ckpt, f)
    msg = _one_line_error(f)
    assert "unexpected key(s), e.g. stem.extra" in msg and "missing key(s)" in msg


def test_folded_checkpoint_with_a_separate_stem_scale_bias_is_refused_in_one_line(tmp_path):
    """Before the BatchNorm after a real convolution was folded into it, a folded checkpoint held a separate
    ``stem_bn.affine`` scale-bias and no convolution bias: refused in one line naming the key; a folded
    checkpoint of this version round-trips."""
    from training.layers import fold_batchnorms

    model = build_model("dybnn-tiny")
    fold_batchnorms(model)
    ckpt = _checkpoint(model, "dybnn-tiny", 3, True)
    f = tmp_path / "new.pt"
    torch.save(ckpt, f)
    load_checkpoint(f)
    state = dict(ckpt["model_state"])
    c = state.pop("stem.conv.bias").numel()
    state["stem_bn.affine.weight"] = torch.ones(c)
    state["stem_bn.affine.bias"] = torch.zeros(c)
    ckpt["model_state"] = state
    f = tmp_path / "old.pt"
    torch.save(ckpt, f)
    msg = _one_line_error(f)
    assert "stem_bn.affine" in msg and "folded into the convolution" in msg and "--random-init" in msg


def test_folded_version_1_checkpoint_is_refused_in_one_line(tmp_path):
    """Version 1 folded the BatchNorm after a binary layer with a 16-bit bias on its own grid, under the same
    state-dict keys: such a folded checkpoint is refused by its version, naming the BatchNorm; an unfolded
    version-1 checkpoint (steps 1 and 2) still loads."""
    from training.layers import fold_batchnorms

    model = build_model("tfc-w1a1")
    unfolded = _checkpoint(model, "tfc-w1a1", 2, False)
    unfolded["version"] = 1
    apply_step(model, 2)
    unfolded["model_state"] = model_state_dict(model)
    torch.save(unfolded, tmp_path / "v1-step2.pt")
    load_checkpoint(tmp_path / "v1-step2.pt")
    fold_batchnorms(model)
    ckpt = _checkpoint(model, "tfc-w1a1", 3, True)
    ckpt["version"] = 1
    torch.save(ckpt, tmp_path / "v1-folded.pt")
    msg = _one_line_error(tmp_path / "v1-folded.pt")
    assert "checkpoint version 1" in msg and "(layers.1)" in msg and "24-bit integer" in msg, msg
