#!/usr/bin/env python3
"""Runs calling-bench-server with the arguments given and checks its JSON: every figure the runner
reads is there, a number, and one that a working run cannot leave at zero is positive."""
import json
import subprocess
import sys

REQUIRED = ["agents", "server_rss_idle_bytes", "server_rss_loaded_bytes", "bytes_per_agent", "setups",
            "setups_per_second", "setup_ms_p50", "setup_ms_p95", "server_cpu_ms_per_setup"]
POSITIVE = ["agents", "server_rss_idle_bytes", "server_rss_loaded_bytes", "setups", "setups_per_second",
            "setup_ms_p50", "setup_ms_p95"]

run = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, text=True)
print(run.stdout, end="")
if run.returncode != 0:
    sys.exit(f"calling-bench-server exited with {run.returncode}")
try:
    figures = json.loads(run.stdout)
except json.JSONDecodeError as error:
    sys.exit(f"stdout is not one JSON object: {error}")
problems = [f"{key} missing or not a number" for key in REQUIRED
            if not isinstance(figures.get(key), (int, float)) or isinstance(figures.get(key), bool)]
problems += [f"{key} is {figures[key]}, expected > 0" for key in POSITIVE
             if key in figures and isinstance(figures[key], (int, float)) and figures[key] <= 0]
if problems:
    sys.exit("; ".join(problems))
