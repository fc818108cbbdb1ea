"""The training tests run tiny tensors: one torch thread each (threads only add overhead at these sizes, and
pytest-xdist runs two workers on the two cores)."""

import torch

torch.set_num_threads(1)
