"""Video quality scoring: weight-free metrics on decoded frames, and VBench in its own venv."""
