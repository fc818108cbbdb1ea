"""Bit-exact verification across the levels of the numeric contract: PyTorch (Brevitas) == QONNX
``execute_onnx`` == hwsim ``ref`` == ``numba``.

This package sits above ``training`` and ``hwsim`` (it imports both; neither imports it) and is the project's one
comparer:

- :mod:`verify.sites`: the quantizer sites of a model on both sides of the export (Brevitas quant proxies, QONNX
  ``Quant``/``BipolarQuant`` nodes) and the one rule that pairs them;
- :mod:`verify.torch_qonnx`: the export's check, every quantizer site and the logits of PyTorch vs QONNX;
- :mod:`verify.levels`: the driver of ``dybnn verify`` and the flow (all four levels, ``verify.json``);
- the result records are :class:`runfiles.records.VerifyReport` (``verify.json``).

The conversions that need no torch (a hardware tensor as the ONNX tensor it stands for, the dynamic thresholds
recomputed from a simulation) live in :mod:`hwsim.onnx_values`.
"""
