"""The names of the files of a run directory, in one place.

A run directory (``dybnn flow --out DIR``, or the verbs one by one) holds::

    DIR/config.json          training configuration          (training.train)
    DIR/metrics.json         per-epoch records                (training.train)
    DIR/checkpoint.pt        the trained model                (training.checkpoint)
    DIR/model.onnx           the QONNX export                 (training.export)
    DIR/hw/graph.json        the hardware graph               (hwsim.graph, ``dybnn lower``)
    DIR/hw/params.npz        its parameter arrays
    DIR/verify.json          the bit-exact verification       (runfiles.records.VerifyReport)
    DIR/estimates.json       resources and performance        (runfiles.records.EstimatesRecord)
    DIR/folding.json         the folding (PE, SIMD per node)  (hls.folding)
    DIR/hls/                 the HLS project                  (hls.project; project.json, csim.json)
    DIR/rtl_sim.json         the RTL simulation's measurements (runfiles.records.RtlSimRecord, ``dybnn rtl
                             DIR --sim``)
    DIR/thresholds.npz       dynamic thresholds per image     (the flow's thresholds step)
    DIR/study.json           static vs dynamic study          (``dybnn study``)
    DIR/flow.json            the flow's configuration and step records (dybnn.flow)
    DIR/.dybnn-<owner>.json  manifests of owned files         (runfiles.outputs)
"""

from __future__ import annotations

CONFIG_JSON = "config.json"
METRICS_JSON = "metrics.json"
CHECKPOINT = "checkpoint.pt"
MODEL_ONNX = "model.onnx"
HW_DIR = "hw"
GRAPH_JSON = "graph.json"
PARAMS_NPZ = "params.npz"
VERIFY_JSON = "verify.json"
ESTIMATES_JSON = "estimates.json"
FOLDING_JSON = "folding.json"
HLS_DIR = "hls"
PROJECT_JSON = "project.json"
CSIM_JSON = "csim.json"
RTL_SIM_JSON = "rtl_sim.json"
THRESHOLDS_NPZ = "thresholds.npz"
STUDY_JSON = "study.json"
STUDY_CONFIG_JSON = "study_config.json"
FLOW_JSON = "flow.json"
