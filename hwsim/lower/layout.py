"""How an ONNX tensor (NCHW, batch first) and a hardware tensor (channels last, per sample) hold the same values.

Every hardware tensor is the channels-last image of some ``(H, W, C)`` map, flattened or not: its elements run in
``(h, w, c)`` order. The ONNX tensor holds the same elements in ``(c, h, w)`` order, reshaped to the ONNX shape.
One record covers every case the lowering produces:

=====================  ==================  =================  =====================================
ONNX tensor            ``onnx_shape``      ``hw_shape``        note
=====================  ==================  =================  =====================================
feature map NCHW       ``(C, H, W)``       ``(H, W, C)``       transpose
vector NC              ``(C,)``            ``(C,)``            ``hwc = (1, 1, C)``
NCHW flattened         ``(C*H*W,)``        ``(H*W*C,)``        after a hardware Flatten
NCHW flattened         ``(C*H*W,)``        ``(H, W, C)``       flatten still pending (a view)
GlobalAveragePool      ``(C, 1, 1)``       ``(C,)``            keepdims
=====================  ==================  =================  =====================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Layout:
    """Element correspondence between a per-sample ONNX shape and a per-sample hardware shape."""

    hwc: tuple[int, int, int]
    onnx_shape: tuple[int, ...]
    hw_shape: tuple[int, ...]

    def __post_init__(self) -> None:
        n = int(np.prod(self.hwc))
        if int(np.prod(self.onnx_shape)) != n or int(np.prod(self.hw_shape)) != n:
            raise ValueError(f"inconsistent layout {self}")

    @staticmethod
    def for_onnx(shape: tuple[int, ...]) -> Layout:
        """The natural layout of an ONNX per-sample shape ``(C, H, W)`` or ``(C,)``."""
        shape = tuple(int(s) for s in shape)
        if len(shape) == 3:
            c, h, w = shape
            return Layout((h, w, c), shape, (h, w, c))
        if len(shape) == 1:
            return Layout((1, 1, shape[0]), shape, shape)
        raise ValueError(f"no hardware layout for ONNX per-sample shape {shape}")

    @property
    def channels(self) -> int:
        """Length of the hardware tensor's last axis (the axis per-channel parameters run along)."""
        return int(self.hw_shape[-1])

    def reshaped(self, onnx_shape: tuple[int, ...]) -> Layout:
        """The same hardware tensor seen through an ONNX Reshape/Flatten/Unsqueeze."""
        return Layout(self.hwc, tuple(int(s) for s in onnx_shape), self.hw_shape)

    def flattened(self) -> Layout:
        """The layout after a hardware Flatten node."""
        return Layout(self.hwc, self.onnx_shape, (int(np.prod(self.hwc)),))

    def hw_to_onnx(self, a: np.ndarray) -> np.ndarray:
        """``(N, *hw_shape) -> (N, *onnx_shape)``."""
        a = np.asarray(a)
        n = a.shape[0]
        h, w, c = self.hwc
        return a.reshape(n, h, w, c).transpose(0, 3, 1, 2).reshape((n, *self.onnx_shape))

    def onnx_to_hw(self, a: np.ndarray) -> np.ndarray:
        """``(N, *onnx_shape) -> (N, *hw_shape)``."""
        a = np.asarray(a)
        n = a.shape[0]
        h, w, c = self.hwc
        return np.ascontiguousarray(a.reshape(n, c, h, w).transpose(0, 2, 3, 1).reshape((n, *self.hw_shape)))

    def onnx_index(self) -> np.ndarray:
        """For each hardware element (in hw order, flattened) the flat index of the same element in ONNX order."""
        idx = np.arange(int(np.prod(self.onnx_shape))).reshape((1, *self.onnx_shape))
        return self.onnx_to_hw(idx).reshape(-1)

    def channel_vector(self, const: np.ndarray) -> np.ndarray | None:
        """A constant broadcast against the ONNX tensor, as one value per hardware channel; ``None`` when the
        constant is not uniform over the other hardware axes (or does not broadcast)."""
        const = np.asarray(const)
        full = (1, *self.onnx_shape)
        if const.ndim > len(full):
            return None
        try:
            b = np.broadcast_to(const, full)
        except ValueError:
            return None
        hw = self.onnx_to_hw(b).reshape(-1, self.channels)
        if hw.shape[0] > 1 and not np.all(hw == hw[:1]):
            return None
        return hw[0].copy()

    def to_json(self) -> dict[str, Any]:
        return {"hwc": list(self.hwc), "onnx_shape": list(self.onnx_shape), "hw_shape": list(self.hw_shape)}

    @staticmethod
    def from_json(d: dict[str, Any]) -> Layout:
        return Layout(tuple(d["hwc"]), tuple(d["onnx_shape"]), tuple(d["hw_shape"]))
