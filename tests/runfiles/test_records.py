"""``runfiles.records``: the typed records of estimates.json and verify.json read back what the product writes,
byte for byte, and name the file and the field of bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hls.devices import resolve_part
from hls.estimate import estimate, finn_reference_estimate
from hls.estimate.report import to_document
from hls.folding import Fold
from runfiles.records import EstimatesRecord, PairResult, RunFileError, VerifyReport
from tests.hwsim.graphs import resblock_graph


@pytest.mark.parametrize("part", ["zcu104", None])
def test_estimates_json_round_trips(rng, part):
    g = resblock_graph(rng)
    folding = {"conv1": Fold(2, 4)}
    est = estimate(g, folding, 5.0, resolve_part(part) if part else None)
    text = json.dumps(to_document(est, folding, g, finn_reference_estimate(g, folding)).to_json(), indent=1)
    rec = EstimatesRecord.from_json(json.loads(text))
    assert json.dumps(rec.to_json(), indent=1) == text
    assert rec.static_vs_dynamic is not None and (rec.device is None) == (part is None)


def test_verify_json_round_trips():
    pr = PairResult("ref", "numba", samples=2)
    pr.compare("t", "n", np.array([[1, 2]]), np.array([[1, 3]]))
    rep = VerifyReport("m", {"ref": 2, "numba": 2}, [pr], ["a note"], {"ref": 0.12345}, {"onnx_sha256": None})
    text = json.dumps(rep.to_json(), indent=1)
    back = VerifyReport.from_json(json.loads(text))
    assert json.dumps(back.to_json(), indent=1) == text
    assert not back.ok and back.pairs[0].first.index == [0, 1] and back.levels == ["ref", "numba"]


def test_bad_input_names_the_file_and_the_field(rng):
    g = resblock_graph(rng)
    doc = to_document(estimate(g, {}, 5.0, resolve_part("zcu104")), {}, g).to_json()
    doc["layers"][1]["cycles"] = "many"
    with pytest.raises(
        RunFileError, match=r"^estimates\.json: field layers\[1\]\.cycles: expected an integer"
    ):
        EstimatesRecord.from_json(doc)
    del doc["fps"]
    with pytest.raises(RunFileError, match="^run/estimates.json: missing field fps$"):
        EstimatesRecord.from_json(doc, "run/estimates.json")
    with pytest.raises(RunFileError, match="^verify.json: unknown field.*levels"):
        VerifyReport.from_json(
            {"model": "m", "samples": {}, "pairs": [], "notes": [], "seconds": {}, "levels": []}
        )
