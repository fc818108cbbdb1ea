"""RTL back end: hand-written SystemVerilog modules per node type (``rtl/lib/``), a design writer that
instantiates them with the HLS project's streams, FIFO depths and word layout (:mod:`rtl.project`), and a
Verilator build with a generated C++ testbench (:mod:`rtl.sim`), Yosys synthesis (:mod:`rtl.synth`) and the
estimator of the RTL design (:mod:`rtl.estimate`, ``dybnn estimate --backend rtl``). See ``docs/rtl.md``."""

# the registry first: importing any ``rtl.gen_*`` module directly then finds every generator registered, in one
# order, instead of a generator importing another that is still half initialized
from rtl import modules as _modules  # noqa: E402, F401
