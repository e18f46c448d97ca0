"""Energy measurement: counters per component, a meter with named windows, a power-trace sampler."""

# The components a meter reads, each its own counter (and its own columns in the tables).
COMPONENTS = ("gpu", "cpu", "dram")
