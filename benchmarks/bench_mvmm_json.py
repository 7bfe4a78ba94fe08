"""Where the MvMM benchmarks write what the book cites: ``benchmarks/results/mvmm_<name>.json``.

Each file records the command, the date, the machine and the threads next to the numbers, so a
number in the book can be traced to the run that made it.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

import torch

from zmic_lessons.core.results import collect_versions

RESULTS = Path(__file__).resolve().parent / "results"


def write_result(name: str, payload: dict[str, Any]) -> Path:
    """Write ``payload`` with its provenance to ``results/mvmm_<name>.json`` (atomically)."""
    record = {
        "benchmark": Path(sys.argv[0]).name,
        "command": " ".join(["python", *sys.argv]),
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, no GPU used",
        "torch_threads": torch.get_num_threads(),
        "versions": collect_versions(),
        **payload,
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"mvmm_{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=1, allow_nan=False) + "\n")
    os.replace(tmp, path)
    print(f"wrote {path}")
    return path
