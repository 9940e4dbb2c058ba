"""The lifecycle benchmark still walks the current diagrams (it broke silently once when the
return-visit diagram gained a timer). Always on a throwaway SQLite file, never DATABASE_URL."""
import json
import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "lifecycle.py"


def test_the_lifecycle_benchmark_runs_both_paths_to_the_end():
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    result = subprocess.run([sys.executable, str(BENCH), "--n", "2"], capture_output=True, text=True,
                            env=env, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    numbers = json.loads(result.stdout.strip().splitlines()[-1])
    assert numbers["n"] == 2 and numbers["a_commits_per_completion"] == 1.0 and numbers["b_appeals_per_s"] > 0
