"""Resource and performance estimation of hardware graphs, and the folding search.

Public API::

    from hls.estimate import estimate, folding_search, static_equivalent, finn_reference_estimate
    est = estimate(graph, folding, clock_ns=10.0, device=resolve_part("pynq-z1"))
    est.totals, est.system_totals, est.fps, est.latency_cycles, est.bottleneck, est.utilization(), est.fits

Estimators are pure functions registered per node type (``@estimator(XnorConv)``, :data:`ESTIMATORS`)
returning a typed :class:`NodeEstimate` of resources; cycles, latency and FIFO depths come from the timing model
:mod:`hls.timing` (the one the HLS project writer reads). :mod:`hls.estimate.pipeline` estimates a whole design,
:mod:`hls.estimate.designs` builds the test designs (LFC, CNV, ReActNet-A) and the validation cases.
"""

from hls.estimate.finn import FinnEstimate, finn_reference_estimate
from hls.estimate.pipeline import GraphModel, estimate
from hls.estimate.records import DesignEstimate, FifoEstimate, NodeEstimate, Resources
from hls.estimate.registry import ESTIMATORS, EstimateConfig, estimator
from hls.estimate.search import FitError, complete_folding, folding_search
from hls.estimate.static import has_dynamic, static_equivalent

__all__ = [
    "ESTIMATORS",
    "DesignEstimate",
    "EstimateConfig",
    "FifoEstimate",
    "FinnEstimate",
    "FitError",
    "GraphModel",
    "NodeEstimate",
    "Resources",
    "complete_folding",
    "estimate",
    "estimator",
    "finn_reference_estimate",
    "folding_search",
    "has_dynamic",
    "static_equivalent",
]
