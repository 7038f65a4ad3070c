"""The bundle store: what one workflow's steps hand to each other, in S3 (Lambda `/tmp` is not shared).

Per execution, under `workflows/{projectId}/{workflowId}/`:

- `request.json`       what was asked (written by the API before the execution starts)
- `state.json`         the pipeline state after the last finished stage (`BootstrapState`)
- `files.json.gz`      the source files discovery and the later stages read (path -> text), from the clone
- `steps/{index}.json` one map item's result (a flow's steps)
- `review-request.json`, `review-plan.json`, `reviews/{index}.json`: the same for an analysis review

Clean-up deletes the prefix on success and on failure. Objects are small JSON; nothing here is a secret (the
clone's credentials never reach it). The S3 client is injected; the in-memory store serves unit tests.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol

from perceo.workflows.errors import WorkflowBackendError, WorkflowStateMissingError

BUNDLE_SCHEME = "bundle://"


def workflow_prefix(project_id: str, workflow_id: str) -> str:
    return f"workflows/{project_id}/{workflow_id}/"


def request_key(project_id: str, workflow_id: str) -> str:
    return workflow_prefix(project_id, workflow_id) + "request.json"


def state_key(project_id: str, workflow_id: str) -> str:
    return workflow_prefix(project_id, workflow_id) + "state.json"


def files_key(project_id: str, workflow_id: str) -> str:
    return workflow_prefix(project_id, workflow_id) + "files.json.gz"


def step_result_key(project_id: str, workflow_id: str, index: int) -> str:
    return workflow_prefix(project_id, workflow_id) + f"steps/{index}.json"


def review_request_key(project_id: str, workflow_id: str) -> str:
    return workflow_prefix(project_id, workflow_id) + "review-request.json"


def tests_request_key(project_id: str, workflow_id: str) -> str:
    return workflow_prefix(project_id, workflow_id) + "tests-request.json"


def bundle_uri(project_id: str, workflow_id: str) -> str:
    """How a workspace that lives in the bundle store is named in pipeline state (`BootstrapInput.workspace`)."""
    return f"{BUNDLE_SCHEME}{project_id}/{workflow_id}"


def parse_bundle_uri(workspace: str) -> tuple[str, str] | None:
    if not workspace.startswith(BUNDLE_SCHEME):
        return None
    project_id, _, workflow_id = workspace.removeprefix(BUNDLE_SCHEME).partition("/")
    return (project_id, workflow_id) if project_id and workflow_id else None


class BundleStore(Protocol):
    def put_bytes(self, key: str, data: bytes) -> None: ...
    def get_bytes(self, key: str) -> bytes | None:
        """The object's bytes, or None when it does not exist."""

    def delete_prefix(self, prefix: str) -> int: ...
    def presigned_url(self, key: str, expires_in: int) -> str | None:
        """A link that reads the object for `expires_in` seconds, or None when it does not exist."""


def put_json(store: BundleStore, key: str, document: Any) -> None:
    store.put_bytes(key, json.dumps(document, separators=(",", ":")).encode("utf-8"))


def get_json(store: BundleStore, key: str) -> Any:
    """The JSON object at `key`; WorkflowStateMissingError when it is not there."""
    data = store.get_bytes(key)
    if data is None:
        raise WorkflowStateMissingError(f"workflow state {key} is missing (expired, cleaned up or never written)")
    return json.loads(data)


def put_files(store: BundleStore, key: str, files: Mapping[str, str]) -> int:
    """Store source files gzipped; returns the compressed size."""
    data = gzip.compress(json.dumps(files, separators=(",", ":")).encode("utf-8"), compresslevel=6)
    store.put_bytes(key, data)
    return len(data)


def get_files(store: BundleStore, key: str) -> dict[str, str]:
    data = store.get_bytes(key)
    if data is None:
        raise WorkflowStateMissingError(f"workflow source bundle {key} is missing")
    files = json.loads(gzip.decompress(data))
    if not isinstance(files, dict):
        raise WorkflowStateMissingError(f"workflow source bundle {key} is not a file map")
    return {str(k): str(v) for k, v in files.items()}


@contextmanager
def _s3_errors(action: str, key: str) -> Iterator[None]:
    import botocore.exceptions

    try:
        yield
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        code = "unknown"
        response = getattr(exc, "response", None)
        if isinstance(response, dict):
            code = str(response.get("Error", {}).get("Code", "unknown"))
        reason = code or type(exc).__name__
        raise WorkflowBackendError(f"the bundle store (S3) failed to {action} {key}: {reason}") from None


class S3BundleStore:
    def __init__(self, client: Any, bucket: str) -> None:
        self._s3 = client
        self._bucket = bucket

    def put_bytes(self, key: str, data: bytes) -> None:
        with _s3_errors("write", key):
            self._s3.put_object(Bucket=self._bucket, Key=key, Body=data, ServerSideEncryption="AES256")

    def get_bytes(self, key: str) -> bytes | None:
        import botocore.exceptions

        try:
            response = self._s3.get_object(Bucket=self._bucket, Key=key)
        except botocore.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise WorkflowBackendError(
                f"the bundle store (S3) failed to read {key}: {exc.response.get('Error', {}).get('Code')}"
            ) from None
        except botocore.exceptions.BotoCoreError as exc:
            raise WorkflowBackendError(f"the bundle store (S3) failed to read {key}: {type(exc).__name__}") from None
        body: bytes = response["Body"].read()
        return body

    def presigned_url(self, key: str, expires_in: int) -> str | None:
        """A GET link for `expires_in` seconds (the coordinator's screenshots), or None when there is no object."""
        import botocore.exceptions

        try:
            self._s3.head_object(Bucket=self._bucket, Key=key)
        except botocore.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return None
            raise WorkflowBackendError(
                f"the bundle store (S3) failed to read {key}: {exc.response.get('Error', {}).get('Code')}"
            ) from None
        with _s3_errors("sign a link to", key):
            url: str = self._s3.generate_presigned_url(
                "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=expires_in
            )
        return url

    def delete_prefix(self, prefix: str) -> int:
        deleted = 0
        with _s3_errors("delete", prefix):
            paginator = self._s3.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
                keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
                if keys:
                    self._s3.delete_objects(Bucket=self._bucket, Delete={"Objects": keys, "Quiet": True})
                    deleted += len(keys)
        return deleted


class InMemoryBundleStore:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put_bytes(self, key: str, data: bytes) -> None:
        self.objects[key] = data

    def get_bytes(self, key: str) -> bytes | None:
        return self.objects.get(key)

    def presigned_url(self, key: str, expires_in: int) -> str | None:
        return f"memory://{key}?expires={expires_in}" if key in self.objects else None

    def delete_prefix(self, prefix: str) -> int:
        keys = [k for k in self.objects if k.startswith(prefix)]
        for key in keys:
            del self.objects[key]
        return len(keys)
