"""The child's side of the process boundary: run one measured job, write its record.

Started as `python -m vidcarbon.process.child REQUEST.json`, called in a child forked by
the warm worker, or called in the model host of a SLURM job (one job after another). The
request names the job `kind`; MEASURED maps it to the function of its workload that measures
it (`vidcarbon.workloads.*.measured`), imported only here, after the fork.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

from vidcarbon.logs import setup_logging
from vidcarbon.records import write_json_atomic

# kind -> "module:function(**kwargs) -> record"; each takes `measurement` as a Measurement.
MEASURED = {
    "encode": "vidcarbon.workloads.video.measured:encode_prompt",
    "generate": "vidcarbon.workloads.video.measured:generate_cell",
    "image": "vidcarbon.workloads.image.measured:generate_image",
    "llm": "vidcarbon.workloads.text.measured:run_requests",
}


def run_request(request_path: str | Path, record_path: str | Path | None = None) -> dict:
    """Run the job described by the request file; write its record (where the request says,
    or at `record_path`: a rank's own) and return it."""
    from vidcarbon.backends import VideoShape
    from vidcarbon.workloads.measured import Measurement

    setup_logging()
    request = json.loads(Path(request_path).read_text())
    module_name, function = MEASURED[request["kind"]].split(":")
    kwargs = dict(request["kwargs"])  # JSON: the two typed arguments are rebuilt
    kwargs["measurement"] = Measurement(**kwargs["measurement"])
    if "shape" in kwargs:
        kwargs["shape"] = VideoShape(**kwargs["shape"])
    record = getattr(importlib.import_module(module_name), function)(**kwargs)
    write_json_atomic(record_path or request["record_path"], record)
    return record


def main(argv: list[str]) -> int:
    """Run the job described by the request file argv[0]; write its record."""
    run_request(argv[0])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
