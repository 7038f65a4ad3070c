"""Settings of the workflow functions (the API routes that start workflows and the Step Functions tasks).

The shared `Settings` (which holds what the API side needs to start workflows: bucket, state machines, Map
concurrency, claim TTL) plus what only the steps need, read the same way (environment variable = field name in
upper case, validated once per cold start). None of these is a secret: they name buckets, state machines and
secrets, or bound the work.
"""

from __future__ import annotations

from pydantic import Field

from perceo.config.settings import NonEmpty, Settings
from perceo.workflows.clone import CloneLimits


class WorkflowSettings(Settings):
    #: Where a project's git credentials live: `{prefix}{projectId}` in Secrets Manager (optional per project).
    git_credentials_secret_prefix: NonEmpty | None = None
    #: An extra CA bundle for HTTPS clones (a private Git server; the local cloud's self-signed stand-in).
    git_ssl_cainfo: NonEmpty | None = None
    clone_max_mb: int = Field(default=300, ge=1, le=10_000)
    clone_timeout_s: int = Field(default=120, ge=5, le=900)
    #: Source files larger than this are left out of the bundle (generated code, fixtures, minified bundles).
    bundle_max_file_kb: int = Field(default=512, ge=1, le=10_240)
    bundle_max_files: int = Field(default=20_000, ge=1, le=200_000)
    #: LLM transport retries inside one task; Step Functions retries the task on top of these.
    llm_max_retries: int = Field(default=2, ge=0, le=10)
    llm_timeout_s: float = Field(default=120.0, gt=0, le=900)

    def credentials_secret_prefix(self) -> str:
        return self.git_credentials_secret_prefix or f"perceo/{self.stage}/git/"

    def clone_limits(self) -> CloneLimits:
        return CloneLimits(max_bytes=self.clone_max_mb * 1024 * 1024, timeout_s=float(self.clone_timeout_s))
