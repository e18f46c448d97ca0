"""vidcarbon: energy and carbon footprint of generative-video inference, measured per phase."""

__version__ = "0.1.0"
