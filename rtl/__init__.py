"""RTL back end: hand-written SystemVerilog modules per node type (``rtl/lib/``), a design writer that
instantiates them with the HLS project's streams, FIFO depths and word layout (:mod:`rtl.project`), and a
Verilator build with a generated C++ testbench (:mod:`rtl.sim`). See ``docs/rtl.md``."""
