"""QONNX export of dybnn models, with a check that float32 computes them exactly.

The golden model is the Brevitas model in ``eval()`` mode with every BatchNorm folded into its integer
scale-bias form. :func:`export_model` writes it as QONNX (``brevitas.export.export_qonnx`` then
the graph of ``qonnx.util.cleanup.cleanup_model``, computed in linear time by :mod:`training.onnx_cleanup`),
atomically. Before writing, :func:`training.exactness.check_exact_range` proves on a batch that float32 computed
every intermediate exactly; :func:`verify.torch_qonnx.compare_torch_qonnx` checks afterwards that QONNX
``execute_onnx`` reproduces every quantizer output and the logits bit for bit. A randomly initialized model is
calibrated first (:mod:`training.calibration`).

Steps of an export::

    calibrate (random init only) -> fold BatchNorms -> eval -> range check -> export_qonnx -> cleanup -> replace

Metadata stored in the ONNX ``metadata_props`` (every value a JSON string; read them with
:func:`read_metadata`):

=======================  =================================================================
``dybnn_version``        version of the dybnn package that wrote the file
``model_name``           registry name (``dybnn-tiny``), or the class name
``input_shape``          ``[C, H, W]``
``num_classes``          number of logits
``batch``                the batch size the graph was exported with (execute at that batch)
``input_normalization``  ``{"mean": [...], "std": [...]}`` when known (else absent)
``dataset``              the training dataset's name, for a checkpoint (else absent)
=======================  =================================================================
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import warnings
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import onnx
import torch
from brevitas.proxy import WeightQuantProxyFromInjector
from torch import nn

from runfiles.layout import MODEL_ONNX as ONNX_NAME
from runfiles.outputs import atomic_write
from runfiles.progress import heartbeat
from training.calibration import (
    ExportError,
    Progress,
    calibrate,
    calibration_batches,
    model_input_shape,
    needs_calibration,
    synthetic_inputs,
)
from training.exactness import check_exact_range
from training.layers import (
    FoldableBatchNorm2d,
    fold_batchnorms,
)


@torch.no_grad()
def prepare_for_export(model: nn.Module) -> nn.Module:
    """Fold every BatchNorm into its integer scale-bias form, or into the real convolution that feeds it (if not
    yet), and put the model in ``eval()``.

    The folded scale-bias quantizers compute their scales from the parameters on every call, so they need no
    calibration; this checks that the 8-bit per-channel scale is a finite power of two. The 24-bit bias' scale is
    that scale times the binary layer's output grid (both powers of two), known only in a forward; the range
    check verifies it.
    """
    for name, m in model.named_modules():
        proxy = getattr(m, "weight_quant", None)
        if isinstance(proxy, WeightQuantProxyFromInjector) and getattr(proxy, "disable_quant", False):
            raise ExportError(
                f"{name}: weight quantization is disabled (training step 1, real weights); "
                "export a model trained through step 2 (binary weights) or later"
            )
    fold_batchnorms(model)
    model.eval()
    for name, m in model.named_modules():
        if isinstance(m, FoldableBatchNorm2d) and m.affine is not None:  # not one folded into its conv
            for what, q in (("scale", m.affine.quant_weight()),):
                scale = q.scale.detach().double()
                log2 = torch.log2(scale)
                if not bool(torch.isfinite(q.value).all()) or not bool((log2 == log2.round()).all()):
                    raise ExportError(
                        f"{name}: folded {what} quantizer gives an invalid scale {scale.flatten()}"
                    )
    return model


def dybnn_version() -> str:
    try:
        from importlib.metadata import version

        return version("dybnn")
    except Exception:  # not installed (running from a source tree)
        return "unknown"


def _metadata(model: nn.Module, batch: int, extra: Mapping[str, object] | None) -> dict[str, str]:
    meta: dict[str, object] = {
        "dybnn_version": dybnn_version(),
        "model_name": getattr(model, "model_name", type(model).__name__),
        "input_shape": list(model_input_shape(model)),
        "num_classes": getattr(model, "num_classes", None),
        "batch": batch,
    }
    norm = getattr(model, "input_normalization", None)
    if norm is not None:
        meta["input_normalization"] = norm
    meta.update(extra or {})
    return {k: json.dumps(v) for k, v in meta.items() if v is not None}


def read_metadata(model_or_path: str | os.PathLike | onnx.ModelProto) -> dict[str, object]:
    """The dybnn metadata of an exported file, JSON-decoded (``{"batch": 100, "input_shape": [1, 28, 28], ...}``)."""
    m = model_or_path if isinstance(model_or_path, onnx.ModelProto) else onnx.load(os.fspath(model_or_path))
    out: dict[str, object] = {}
    for p in m.metadata_props:
        try:
            out[p.key] = json.loads(p.value)
        except json.JSONDecodeError:
            out[p.key] = p.value
    return out


def _writable_dir(d: Path) -> None:
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ExportError(f"cannot create output directory {d}: {e.strerror or e}") from None
    if not os.access(d, os.W_OK):
        raise ExportError(f"cannot write to output directory {d}: permission denied")


def _remove(*paths: Path) -> None:
    for p in paths:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


def export_model(
    model: nn.Module,
    out_path: str | os.PathLike,
    batch: int = 1,
    calib_data: torch.Tensor | Iterable | None = None,
    dynamo: bool = False,
    *,
    metadata: Mapping[str, object] | None = None,
    calib_steps: int | None = None,
    check_samples: int | None = None,
    seed: int = 0,
    progress: Progress | None = None,
) -> Path:
    """Export ``model`` as QONNX to ``out_path`` (atomically) and return the path.

    Calibrates first if the model was never run in training mode (:func:`needs_calibration`), folds its
    BatchNorms and puts it in ``eval()`` (in place: the model is in its deployed form afterwards), checks float32
    exactness (:func:`check_exact_range`) on ``check_samples`` inputs (the first calibration batch, else
    standard-normal images), exports with ``brevitas.export.export_qonnx`` at batch ``batch`` to a temporary
    file in the output directory, cleans it up (:func:`cleanup_model`), stores the metadata and renames the
    file over ``out_path``. On any error no partial file remains and an existing ``out_path`` is untouched.

    Args:
        batch: batch size of the graph. Execute it at that batch (``cleanup_model(override_inpsize=...)``
            breaks shape inference on these graphs).
        dynamo: use the torch.export (dynamo) exporter instead of TorchScript; slower, same graph semantics.
        metadata: extra metadata entries (JSON-serializable values), e.g. ``input_normalization``.
        calib_steps: forwards of the calibration when one is needed (default :func:`calibration_defaults`).
        progress: ``progress(stage, done, total)`` for the stages ``calibrate``, ``check``, ``export: export_qonnx
            ...`` (seconds so far, :func:`runfiles.progress.heartbeat`: Brevitas' export cannot report) and
            ``export: QONNX cleanup``.
        check_samples: inputs of the range check (default 4, 1 above 3x64x64: the check keeps every
            intermediate of both runs, ~1.6 GB for ReActNet-A at 224x224).

    Raises:
        ExportError: the output directory cannot be created or written (one line, naming the path).
        ExportRangeError: the model is not exact in float32.
    """
    from brevitas.export import export_qonnx
    from qonnx.core.modelwrapper import ModelWrapper

    out_path = Path(out_path)
    if batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    if out_path.is_dir():
        raise ExportError(
            f"output path {out_path} is a directory; give a file name such as {out_path / ONNX_NAME}"
        )
    out_dir = out_path.parent
    _writable_dir(out_dir)

    if needs_calibration(model):
        calibrate(model, calib_data, calib_steps, seed=seed, progress=progress)
    prepare_for_export(model)
    if check_samples is None:
        check_samples = 4 if math.prod(model_input_shape(model)) <= 3 * 64 * 64 else 1
    xs = None
    if calib_data is not None:
        xs = next(calibration_batches(model, calib_data, 1, check_samples, seed), None)
    xs = synthetic_inputs(model, check_samples, seed) if xs is None else xs[:check_samples]
    check_exact_range(model, xs, progress=progress)

    example = synthetic_inputs(model, batch, seed)
    side: Path | None = None  # the dynamo exporter writes weights to a side file next to the temporary one
    try:
        with atomic_write(out_path) as tmp:  # the project's one atomic-write helper (runfiles.outputs)
            side = tmp.with_name(tmp.name + ".data")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with (
                    heartbeat(progress, "export: export_qonnx (TorchScript trace, ONNX), seconds"),
                    _without_jit_lint(),
                ):
                    export_qonnx(model, args=example, export_path=str(tmp), dynamo=dynamo)
                mw = cleanup_model(ModelWrapper(str(tmp), fix_missing_initializer_valueinfo=False), progress)
            props = {p.key: p.value for p in mw.model.metadata_props}
            props.update(_metadata(model, batch, metadata))
            onnx.helper.set_model_props(mw.model, props)
            onnx.save(mw.model, str(tmp))  # every tensor inline (the models are far below 2 GB)
    except OSError as e:
        raise ExportError(f"cannot write {out_path}: {e.strerror or e}") from e
    finally:
        if side is not None:
            _remove(side)
    model.eval()
    return out_path


@contextlib.contextmanager
def _without_jit_lint() -> Iterator[None]:
    """PyTorch's TorchScript ONNX exporter without its ``_jit_pass_lint`` calls.

    The exporter lints the TorchScript graph after each of its ten optimization passes; the lint only asserts
    the graph's internal invariants (it changes nothing) and its cost grows faster than the graph: about 30 % of
    ``export_qonnx`` on ``dybnn-reactnet-a`` (1,800 nodes; ``docs/performance.md``). The exported graph is
    checked anyway: the QONNX cleanup's shape inference and ``dybnn verify``'s exact comparison of every level.
    """
    original = torch._C._jit_pass_lint
    torch._C._jit_pass_lint = lambda graph: None
    try:
        yield
    finally:
        torch._C._jit_pass_lint = original


def cleanup_model(mw, progress: Progress | None = None):
    """The graph of ``qonnx.util.cleanup.cleanup_model`` (quantizer nodes kept), computed in linear time by
    :func:`training.onnx_cleanup.cleanup` (qonnx's takes 400 s of CPU on ``dybnn-reactnet-a``)."""
    from qonnx.core.modelwrapper import ModelWrapper

    from training.onnx_cleanup import cleanup

    clean = cleanup(mw.model, progress)
    return ModelWrapper(clean, make_deepcopy=False, fix_missing_initializer_valueinfo=False)


def export_random(
    name: str,
    out_dir: str | os.PathLike,
    input_shape: tuple[int, int, int] | None = None,
    num_classes: int | None = None,
    seed: int = 0,
    cfg=None,
    *,
    batch: int = 1,
    calib_steps: int | None = None,
    calib_data: torch.Tensor | Iterable | None = None,
    dynamo: bool = False,
    progress: Progress | None = None,
) -> Path:
    """Build the registered model ``name`` with random weights, calibrate it (on ``calib_data``, default
    synthetic standard-normal images), fold it and export it to ``out_dir/model.onnx``, with its checkpoint
    ``out_dir/checkpoint.pt`` (:func:`training.checkpoint.deployed_checkpoint`: the folded model as exported, so
    that ``dybnn verify out_dir`` also runs the PyTorch level). Both files are written atomically.

    The folded scale-bias quantizers derive their scales from their parameters, so the activation scales
    calibrated before folding stay valid (the folded model computes the same affine map up to its 8/16-bit
    quantization) and no second calibration is needed.
    """
    from training.checkpoint import CHECKPOINT_NAME, atomic_torch_save, deployed_checkpoint
    from training.models import ModelConfig, build_model

    ckpt_path = Path(out_dir) / CHECKPOINT_NAME
    if ckpt_path.exists() and not _is_random_init_checkpoint(ckpt_path):
        raise ExportError(
            f"{ckpt_path} exists and is not a random-init export's checkpoint (a training run?); "
            "choose another output directory"
        )
    cfg = cfg or ModelConfig()
    torch.manual_seed(seed)
    model = build_model(name, input_shape=input_shape, num_classes=num_classes, cfg=cfg)
    calibrate(model, calib_data, calib_steps, seed=seed, progress=progress)
    prepare_for_export(model)
    out = export_model(
        model, Path(out_dir) / ONNX_NAME, batch=batch, dynamo=dynamo, seed=seed, calib_data=calib_data,
        progress=progress,
    )  # fmt: skip
    origin = "random-init, calibrated on " + (
        "synthetic images" if calib_data is None else "the given images"
    )
    ckpt = deployed_checkpoint(model, cfg, seed=seed, origin=origin)
    try:
        atomic_torch_save(ckpt_path, ckpt)
    except OSError as e:
        raise ExportError(f"cannot write {ckpt_path}: {e.strerror or e}") from None
    return out


def _is_random_init_checkpoint(path: Path) -> bool:
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - unreadable: not ours to overwrite
        return False
    return isinstance(ckpt, dict) and str(ckpt.get("origin", "")).startswith("random-init")


def export_checkpoint(
    ckpt: str | os.PathLike,
    out_path: str | os.PathLike | None = None,
    *,
    batch: int = 1,
    dynamo: bool = False,
    progress: Progress | None = None,
) -> Path:
    """Export a training checkpoint (a run directory or checkpoint file) to ``DIR/model.onnx``.

    Uses ``training.train.load_checkpoint(dir_or_file) -> (model, meta)``; the input normalization (and dataset
    name) come from the checkpoint's dataset description (:func:`checkpoint_metadata`). A checkpoint of training
    step 1 (binary layers with real weights) is refused by :func:`prepare_for_export`.
    """
    from training.train import load_checkpoint  # lazily: the export module works without the training loop

    ckpt = Path(ckpt)
    model, meta = load_checkpoint(ckpt)
    if out_path is None:
        out_path = (ckpt if ckpt.is_dir() else ckpt.parent) / ONNX_NAME
    return export_model(
        model, out_path, batch=batch, dynamo=dynamo, metadata=checkpoint_metadata(meta), progress=progress
    )


def checkpoint_metadata(meta: Mapping[str, object]) -> dict[str, object]:
    """Export metadata from a checkpoint's ``meta``: the input normalization of its dataset, when recorded."""
    extra: dict[str, object] = {}
    norm = meta.get("input_normalization")
    data = meta.get("dataset")
    if norm is None and isinstance(data, Mapping) and "mean" in data and "std" in data:
        norm = {"mean": list(data["mean"]), "std": list(data["std"])}
        if "name" in data:
            extra["dataset"] = data["name"]
    if norm is not None:
        extra["input_normalization"] = norm
    return extra
