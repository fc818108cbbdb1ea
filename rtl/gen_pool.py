"""RTL generators of MaxPool and AvgPool: the sliding-window generator ``dybnn_swu`` and the window reducer
``dybnn_pool_reduce`` (``hls/templates/max_pool.hpp.j2``, ``avg_pool.hpp.j2``); widths from
``hls/emit/window.py``."""

from __future__ import annotations

from hls.emit import NodeCode, NodeEnv
from hls.estimate.memory import fifo_cost
from hwsim import nodes as N
from rtl.gen_elementwise import num, ram_style, requant_params
from rtl.gen_matrix import FIFO_STYLE, swu_params
from rtl.modules import Instance, bit, rtl_module


@rtl_module(N.MaxPool, N.AvgPool)
def _pool(env: NodeEnv, code: NodeCode) -> Instance:
    c = code.context
    swu = c["swu"]
    params: dict[str, int | str] = {
        k: v for k, v in swu_params(swu, env.has_uram).items() if k not in ("DATA_W", "WIN_W", "PAD_ONES")
    }
    params.update(PE=c["pe"], **num("X", c["x"]))
    if c["is_max"]:
        params.update(MASKED=bit(swu["masked"]), BIPOLAR=bit(c["bipolar"]))
        acc_bits = c["x"].bits
        module = "dybnn_max_pool"
    else:
        params.update(SUM_BITS=c["sum_num"].bits, **requant_params(c, c["out"]))
        acc_bits = c["sum_num"].bits
        module = "dybnn_avg_pool"
    params["ACC_STYLE"] = ram_style(swu["cf"], c["pe"] * acc_bits, env.has_uram)
    depth = swu["win_depth"]  # hls.timing.window_buffer_depth, as the HLS project declares it
    params.update(
        WIN_DEPTH=depth, WIN_STYLE=FIFO_STYLE[fifo_cost(depth, swu["win_bits"], has_uram=env.has_uram).style]
    )
    return Instance(module, params)
