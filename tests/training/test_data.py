"""Datasets: shapes, deterministic splits, normalization, resizing and the error messages."""

import importlib.util
import sys
import types

import numpy as np
import pytest
import torch

from training.data import (
    BUILTIN_DATASETS,
    DATASETS,
    DatasetUnavailableError,
    InputShapeMismatchError,
    SyntheticSpec,
    UnknownDatasetError,
    check_input_shape,
    get_dataset,
)
from training.models import build_model


def _assert_same(a, b):
    for ta, tb in zip(a.tensors, b.tensors, strict=True):
        assert torch.equal(ta, tb)


def test_mnist5k_split_is_fixed_stratified_and_normalized():
    d = get_dataset("mnist5k")
    x, y = d.train.tensors
    assert x.shape == (4000, 1, 28, 28) and x.dtype == torch.float32
    assert y.shape == (4000,) and y.dtype == torch.int64
    assert d.test.tensors[0].shape == (1000, 1, 28, 28)
    assert torch.bincount(d.test.tensors[1]).tolist() == [100] * 10
    assert torch.bincount(y).tolist() == [400] * 10
    assert d.info.input_shape == (1, 28, 28) and d.info.num_classes == 10
    assert d.info.mean == (0.1307,) and d.info.std == (0.3081,)
    assert abs(float(x.mean())) < 0.05 and abs(float(x.std()) - 1.0) < 0.05
    _assert_same(d.test, get_dataset("mnist5k").test)


def test_digits_native_size_and_resize():
    d = get_dataset("digits")
    assert d.train.tensors[0].shape == (1437, 1, 8, 8)
    assert d.test.tensors[0].shape == (360, 1, 8, 8)
    assert d.info.input_shape == (1, 8, 8)
    assert abs(float(d.train.tensors[0].mean())) < 1e-4
    up = get_dataset("digits", input_size=28)
    assert up.train.tensors[0].shape == (1437, 1, 28, 28)
    assert up.info.input_shape == (1, 28, 28)
    assert torch.equal(up.train.tensors[1], d.train.tensors[1])
    near = get_dataset("digits", input_size=16, resize_mode="nearest")
    # nearest upsampling by 2 repeats every pixel of the normalized 8x8 image
    assert torch.equal(near.train.tensors[0][:, :, ::2, ::2], d.train.tensors[0])


def test_synthetic_is_deterministic_balanced_and_sized():
    a = get_dataset("synthetic", input_size=12)
    assert a.train.tensors[0].shape == (2000, 1, 12, 12)
    assert a.test.tensors[0].shape == (500, 1, 12, 12)
    assert torch.bincount(a.train.tensors[1]).tolist() == [200] * 10
    _assert_same(a.train, get_dataset("synthetic", input_size=12).train)
    b = get_dataset(
        "synthetic", synthetic=SyntheticSpec(shape=(3, 8, 8), num_classes=4, num_train=40, num_test=8, seed=1)
    )
    assert b.info.input_shape == (3, 8, 8) and b.info.num_classes == 4 and b.info.num_test == 8
    with pytest.raises(ValueError, match="at least 2 classes"):
        SyntheticSpec(num_classes=1)


def test_sample_limits_take_a_fixed_subset():
    d = get_dataset("synthetic", max_train_samples=100, max_test_samples=30)
    assert (d.info.num_train, d.info.num_test) == (100, 30)
    _assert_same(d.train, get_dataset("synthetic", max_train_samples=100, max_test_samples=30).train)


def test_unknown_dataset_lists_valid_names():
    with pytest.raises(UnknownDatasetError) as err:
        get_dataset("imagenet")
    assert isinstance(err.value, ValueError)
    for name in DATASETS:
        assert name in str(err.value)


@pytest.mark.skipif(importlib.util.find_spec("torchvision") is not None, reason="torchvision is installed")
@pytest.mark.parametrize("name", ["mnist", "cifar10", "imagefolder"])
def test_torchvision_datasets_say_what_is_missing(name):
    with pytest.raises(DatasetUnavailableError) as err:
        get_dataset(name, root="/nonexistent")
    msg = str(err.value)
    assert f"dataset {name!r} needs torchvision (pip install torchvision)" in msg
    assert "available without it: " + ", ".join(BUILTIN_DATASETS) in msg


def _stand_in_torchvision(rng) -> types.SimpleNamespace:
    """Just enough of torchvision's MNIST and CIFAR10 classes to exercise the conversion code."""

    class _Base:
        def __init__(self, root, train=True, download=False):
            if root == "/missing" and not download:
                raise RuntimeError("Dataset not found. You can use download=True to download it")
            self.n = 12 if train else 6

    class MNIST(_Base):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            self.data = torch.from_numpy(rng.integers(0, 256, (self.n, 28, 28), dtype=np.uint8))
            self.targets = torch.arange(self.n) % 10

    class CIFAR10(_Base):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            self.data = rng.integers(0, 256, (self.n, 32, 32, 3), dtype=np.uint8)
            self.targets = [i % 10 for i in range(self.n)]

    return types.SimpleNamespace(datasets=types.SimpleNamespace(MNIST=MNIST, CIFAR10=CIFAR10))


def test_torchvision_glue_with_a_stand_in(monkeypatch, rng):
    monkeypatch.setitem(sys.modules, "torchvision", _stand_in_torchvision(rng))
    m = get_dataset("mnist", root="/data")
    assert m.train.tensors[0].shape == (12, 1, 28, 28) and m.test.tensors[0].shape == (6, 1, 28, 28)
    assert m.train.tensors[0].dtype == torch.float32 and m.train.tensors[1].dtype == torch.int64
    c = get_dataset("cifar10", root="/data", input_size=16)
    assert c.train.tensors[0].shape == (12, 3, 16, 16) and c.info.input_shape == (3, 16, 16)
    assert c.info.mean == (0.4914, 0.4822, 0.4465)
    with pytest.raises(DatasetUnavailableError, match="not found under /missing.*download=True"):
        get_dataset("cifar10", root="/missing")


@pytest.mark.parametrize("kwargs", [{"input_size": 0}, {"input_size": (4, 4, 4)}, {"resize_mode": "bicubic"}])
def test_bad_resize_arguments(kwargs):
    with pytest.raises(ValueError):
        get_dataset("digits", **kwargs)


def test_check_input_shape_names_both_shapes():
    d = get_dataset("digits")
    check_input_shape(build_model("tfc-w1a1", d.info.input_shape), d.info)
    model = build_model("tfc-w1a1")
    with pytest.raises(InputShapeMismatchError) as err:
        check_input_shape(model, d.info)
    msg = str(err.value)
    assert "(1, 28, 28)" in msg and "(1, 8, 8)" in msg and "\n" not in msg
    with pytest.raises(InputShapeMismatchError, match="no input_shape"):
        check_input_shape(torch.nn.Linear(2, 2), (1, 2, 2))
