"""Report figures: functions ``plot_x(record) -> matplotlib.figure.Figure`` with no I/O and no pyplot state.

Each takes the JSON record of one step as loaded (a mapping), so they also work on records built in memory.
"""

from reports.figures.dynamic import (
    plot_accuracy_vs_cost,
    plot_static_vs_dynamic,
    plot_threshold_distribution,
    plot_threshold_heatmap,
)
from reports.figures.hardware import plot_layer_cycles, plot_layer_resources, plot_utilization
from reports.figures.training import plot_training
from reports.figures.verification import plot_verification

__all__ = [
    "plot_accuracy_vs_cost",
    "plot_layer_cycles",
    "plot_layer_resources",
    "plot_static_vs_dynamic",
    "plot_threshold_distribution",
    "plot_threshold_heatmap",
    "plot_training",
    "plot_utilization",
    "plot_verification",
]
