"""Schemathesis against the local cloud, from `openapi.json`: coverage, fuzzing (valid and invalid input) and
stateful sequences, with a fixed seed. Every answer must be a documented status with a body matching its schema,
and never a server error.

CI runs about 4,900 cases in about a minute. A deeper run (README, "Reliability suite"):
`PERCEO_FUZZ_EXAMPLES=500 PERCEO_FUZZ_SEED=$RANDOM pytest tests/reliability/test_fuzz_api.py -s`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cloud_harness import RunningCloud
from openapi_routes import REPO, operations

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("reliability-cloud")]  # one worker, one cloud

SEED = int(os.environ.get("PERCEO_FUZZ_SEED", "20261207"))
EXAMPLES = int(os.environ.get("PERCEO_FUZZ_EXAMPLES", "40"))
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
    ]
)


def _schemathesis(cloud: RunningCloud, key: str, report: Path, *selection: str, examples: int = EXAMPLES) -> Any:
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run", str(REPO / "openapi.json"),
        "--url", cloud.api_url,
        "--header", f"Authorization: Bearer {key}",
        "--seed", str(SEED),
        "--max-examples", str(examples),
        "--checks", CHECKS,
        "--workers", "1",
        "--request-timeout", "30",
        "--generation-database", "none",
        "--no-color",
        "--report", "json", "--report-json-path", str(report),
        *selection,
    ]  # fmt: skip
    # In the report's folder: schemathesis keeps a cache (`.schemathesis/`) in its working directory.
    finished = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False, cwd=report.parent)
    assert report.is_file(), finished.stdout[-4000:] + finished.stderr[-4000:]
    result = json.loads(report.read_text())
    failures = json.dumps(result["failures"], indent=1)[:6000]
    assert finished.returncode == 0 and result["test_cases"]["with_failures"] == 0, finished.stdout[-6000:] + failures
    assert result["errors"] == [], result["errors"]
    return result


def test_no_server_error_and_no_schema_violation_over_the_whole_api(cloud: RunningCloud, tmp_path: Path) -> None:
    _, key = cloud.create_project("fuzzed")
    _, doomed = cloud.create_project("fuzzed-deletion")

    # Every route but the project's deletion, which would end the run's key (the stateful phase finds the id).
    api = _schemathesis(cloud, key, tmp_path / "api.json", "--exclude-path", "/projects/{id}")
    # Project creation with the admin key, and the deletion with a key of its own.
    admin = _schemathesis(cloud, cloud.admin_key, tmp_path / "admin.json", "--include-name", "POST /projects")
    deletion = _schemathesis(cloud, doomed, tmp_path / "deletion.json", "--include-name", "DELETE /projects/{id}")

    runs = (api, admin, deletion)
    cases = sum(run["test_cases"]["generated"] for run in runs)
    tested = sum(run["operations"]["tested"] for run in runs) - 1
    print(f"schemathesis: seed {SEED}, {tested} operations, {cases} cases, 0 failures")
    # every operation of the document (the first run all but the deletion), POST /projects twice
    assert [run["operations"]["tested"] for run in runs] == [len(operations()) - 1, 1, 1]
    assert cases >= 1000
