"""Energy measurement: counters per component, a meter with named windows, a power-trace sampler."""
