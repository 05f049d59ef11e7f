"""One subprocess per timed phase, so that each phase's peak memory is its own and no
phase warms the caches of the next. The worker prints its result as one marked JSON line."""

import json
import subprocess
from typing import Any, Dict, Mapping, Optional, Sequence

RESULT_MARKER = "@@SPEED_RESULT@@ "


def emit(result: Dict[str, Any]) -> None:
    """Print a worker's result for `run_worker` (one line on stdout)."""
    print(RESULT_MARKER + json.dumps(result), flush=True)


def run_worker(argv: Sequence[str], what: str, env: Optional[Mapping[str, str]] = None) -> Dict[str, Any]:
    """Run a worker command and return the result it emitted.

    what (str): What the worker measures, for the error message.
    env (Optional[Mapping[str, str]]): The worker's environment (default: this process's).
    RAISES (SystemExit): If the worker emitted no result, with its exit code and output.
    """
    proc = subprocess.run(list(argv), check=False, stdout=subprocess.PIPE, text=True, env=env)
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_MARKER):
            return json.loads(line[len(RESULT_MARKER):])
    raise SystemExit(f"{what} failed (exit code {proc.returncode}):\n{proc.stdout}")
