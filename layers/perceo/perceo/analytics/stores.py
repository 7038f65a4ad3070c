"""Adapters of the analytics ports that are not providers: object stores (local directory, S3, memory), the
idempotency set and sync cursors (Redis, memory), credentials (memory; the secrets-backed ones come with the wiring).

Redis keys, all under the project: `perceo:analytics:{projectId}:seen:{day}` (a set of `source:eventId`, expiring
`ttl_s` after its day's last write) and `perceo:analytics:{projectId}:cursor:{provider}` (the cursor as JSON).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perceo.analytics.model import ProviderName, SyncCursor
from perceo.errors import BackendUnavailableError, ValidationFailed

if TYPE_CHECKING:
    from perceo.redis_client import RedisClient


def _check_key(key: str) -> None:
    """Keys are made by `codec.py` from validated ids; a key that could leave its prefix is a bug, not data."""
    if not key or key.startswith("/") or ".." in key.split("/") or "\\" in key or "\x00" in key:
        raise ValidationFailed(f"not a storable object key: {key!r}")


# --------------------------------------------------------------------------------------------------
# Object stores


class LocalObjectStore:
    """Objects as files under `root` (the embedded mode: `.perceo/data`). Writes are atomic (temp file + rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, key: str, data: bytes) -> None:
        _check_key(key)
        target = self.root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            Path(temp).replace(target)
        except BaseException:
            with contextlib.suppress(OSError):
                Path(temp).unlink()
            raise

    def read_lines(self, key: str) -> Iterator[bytes]:
        _check_key(key)
        try:
            handle = (self.root / key).open("rb")
        except FileNotFoundError:
            return
        with handle:
            for line in handle:
                yield line.rstrip(b"\r\n")

    def list(self, prefix: str) -> list[str]:
        _check_key(prefix.rstrip("/") or "x")
        base = self.root / prefix
        folder = base if prefix.endswith("/") else base.parent
        if not folder.is_dir():
            return []
        keys = (path.relative_to(self.root).as_posix() for path in folder.rglob("*") if path.is_file())
        return sorted(k for k in keys if k.startswith(prefix) and not Path(k).name.startswith(".tmp-"))

    def delete(self, keys: Sequence[str]) -> int:
        deleted = 0
        for key in keys:
            _check_key(key)
            with contextlib.suppress(FileNotFoundError):
                (self.root / key).unlink()
                deleted += 1
        return deleted


class S3ObjectStore:
    """Objects in an S3 bucket (encrypted at rest with SSE-S3). The boto3 client is injected."""

    def __init__(self, client: Any, bucket: str) -> None:
        self._s3 = client
        self.bucket = bucket

    def put(self, key: str, data: bytes) -> None:
        _check_key(key)
        with self._errors("write", key):
            self._s3.put_object(Bucket=self.bucket, Key=key, Body=data, ServerSideEncryption="AES256")

    def read_lines(self, key: str) -> Iterator[bytes]:
        _check_key(key)
        import botocore.exceptions

        try:
            body = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"]
        except botocore.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return
            raise self._failure("read", key, error) from None
        with contextlib.closing(body):
            yield from body.iter_lines()

    def list(self, prefix: str) -> list[str]:
        keys: list[str] = []
        with self._errors("list", prefix):
            for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
                keys.extend(item["Key"] for item in page.get("Contents", []))
        return sorted(keys)

    def delete(self, keys: Sequence[str]) -> int:
        deleted = 0
        for start in range(0, len(keys), 1000):
            batch = [{"Key": key} for key in keys[start : start + 1000]]
            with self._errors("delete", batch[0]["Key"]):
                self._s3.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
            deleted += len(batch)
        return deleted

    @contextlib.contextmanager
    def _errors(self, action: str, key: str) -> Iterator[None]:
        import botocore.exceptions

        try:
            yield
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
            raise self._failure(action, key, error) from None

    @staticmethod
    def _failure(action: str, key: str, error: Exception) -> BackendUnavailableError:
        response = getattr(error, "response", None)
        code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
        return BackendUnavailableError(
            f"the event store (S3) failed to {action} {key}: {code or type(error).__name__}",
            dependency="the event store (S3)",
        )


class MemoryObjectStore:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put(self, key: str, data: bytes) -> None:
        _check_key(key)
        self.objects[key] = bytes(data)

    def read_lines(self, key: str) -> Iterator[bytes]:
        yield from self.objects.get(key, b"").splitlines()

    def list(self, prefix: str) -> list[str]:
        return sorted(k for k in self.objects if k.startswith(prefix))

    def delete(self, keys: Sequence[str]) -> int:
        return sum(self.objects.pop(k, None) is not None for k in keys)


# --------------------------------------------------------------------------------------------------
# Idempotency


#: KEYS[1] the day's set; ARGV[1] its TTL in seconds, then the ids. Answers 1 (new) or 0 (seen) per id.
_CLAIM = """
local added = {}
for i = 2, #ARGV do added[i - 1] = redis.call('SADD', KEYS[1], ARGV[i]) end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return added
"""
#: The same with the ids in one argument, a line each: the client encodes one string instead of 1,000 (a third of
#: ingest's time went to redis-py packing each id as its own argument; bench/ingest_bench.py).
_CLAIM_LINES = """
local added = {}
local n = 0
for id in string.gmatch(ARGV[2], '[^\\n]+') do
  n = n + 1
  added[n] = redis.call('SADD', KEYS[1], id)
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return added
"""


def seen_key(project_id: str, day: str) -> str:
    return f"perceo:analytics:{project_id}:seen:{day}"


class RedisSeenEvents:
    """Stored event ids per project and day in Redis sets: SADD answers, per id, whether it was new."""

    def __init__(self, client: RedisClient, *, ttl_s: int) -> None:
        self._redis = client
        self.ttl_s = ttl_s
        self._claim = client.register_script(_CLAIM)
        self._claim_lines = client.register_script(_CLAIM_LINES)

    def claim(self, project_id: str, keys: Sequence[tuple[str, str]]) -> list[bool]:
        if not keys:
            return []
        import redis
        import redis.exceptions

        by_day: dict[str, list[int]] = {}
        for n, (day, _) in enumerate(keys):
            by_day.setdefault(day, []).append(n)
        calls: list[tuple[Any, str, list[str | int]]] = []
        for day, positions in by_day.items():
            ids = [keys[n][1] for n in positions]
            lines = "\n".join(ids)
            if lines.count("\n") == len(ids) - 1 and all(ids):  # no id is empty or holds a newline: one argument
                calls.append((self._claim_lines, seen_key(project_id, day), [self.ttl_s, lines]))
            else:
                calls.append((self._claim, seen_key(project_id, day), [self.ttl_s, *ids]))
        try:
            # one script call per day: a SADD per id (1 = new), then the day's expiry (one command, not 1,000)
            if isinstance(self._redis, redis.RedisCluster):
                # a cluster pipeline does not load scripts (NoScriptError): one call per day, each on its key's node
                answers = [script(keys=[key], args=args) for script, key, args in calls]
            else:
                pipe = self._redis.pipeline(transaction=False)
                for script, key, args in calls:
                    script(keys=[key], args=args, client=pipe)
                answers = pipe.execute()
        except redis.exceptions.RedisError as error:
            raise BackendUnavailableError(
                f"the idempotency store (Redis) failed: {type(error).__name__}",
                dependency="the idempotency store (Redis)",
            ) from None
        fresh = [False] * len(keys)
        for positions, answer in zip(by_day.values(), answers, strict=True):
            for n, added in zip(positions, answer, strict=True):
                fresh[n] = bool(added)
        return fresh

    def release(self, project_id: str, keys: Sequence[tuple[str, str]]) -> None:
        if not keys:
            return
        import redis.exceptions

        by_day: dict[str, list[str]] = {}
        for day, event_id in keys:
            by_day.setdefault(day, []).append(event_id)
        pipe = self._redis.pipeline(transaction=False)
        for day, ids in by_day.items():
            pipe.srem(seen_key(project_id, day), *ids)
        try:
            pipe.execute()
        except redis.exceptions.RedisError as error:
            raise BackendUnavailableError(
                f"the idempotency store (Redis) failed: {type(error).__name__}",
                dependency="the idempotency store (Redis)",
            ) from None


class MemorySeenEvents:
    def __init__(self) -> None:
        self.seen: set[tuple[str, str, str]] = set()

    def claim(self, project_id: str, keys: Sequence[tuple[str, str]]) -> list[bool]:
        out = []
        for day, event_id in keys:
            key = (project_id, day, event_id)
            out.append(key not in self.seen)
            self.seen.add(key)
        return out

    def release(self, project_id: str, keys: Sequence[tuple[str, str]]) -> None:
        for day, event_id in keys:
            self.seen.discard((project_id, day, event_id))


# --------------------------------------------------------------------------------------------------
# Cursors and credentials


def cursor_key(project_id: str, provider: str) -> str:
    return f"perceo:analytics:{project_id}:cursor:{provider}"


class RedisCursorStore:
    def __init__(self, client: RedisClient) -> None:
        self._redis = client

    def get(self, project_id: str, provider: ProviderName) -> SyncCursor | None:
        import redis.exceptions

        try:
            raw = self._redis.get(cursor_key(project_id, provider))
        except redis.exceptions.RedisError as error:
            raise BackendUnavailableError(
                f"the cursor store (Redis) failed: {type(error).__name__}", dependency="the cursor store (Redis)"
            ) from None
        return SyncCursor.model_validate_json(raw) if raw else None

    def put(self, project_id: str, cursor: SyncCursor) -> None:
        import redis.exceptions

        try:
            self._redis.set(cursor_key(project_id, cursor.provider), cursor.model_dump_json(by_alias=True))
        except redis.exceptions.RedisError as error:
            raise BackendUnavailableError(
                f"the cursor store (Redis) failed: {type(error).__name__}", dependency="the cursor store (Redis)"
            ) from None


class MemoryCursorStore:
    def __init__(self) -> None:
        self.cursors: dict[tuple[str, str], SyncCursor] = {}

    def get(self, project_id: str, provider: ProviderName) -> SyncCursor | None:
        return self.cursors.get((project_id, provider))

    def put(self, project_id: str, cursor: SyncCursor) -> None:
        self.cursors[(project_id, cursor.provider)] = cursor


class MemoryCredentialStore:
    def __init__(self) -> None:
        self.credentials: dict[tuple[str, str], dict[str, Any]] = {}

    def get(self, project_id: str, provider: str) -> Mapping[str, Any] | None:
        return self.credentials.get((project_id, provider))

    def put(self, project_id: str, provider: str, credentials: Mapping[str, Any]) -> None:
        self.credentials[(project_id, provider)] = dict(credentials)

    def delete(self, project_id: str, provider: str) -> bool:
        return self.credentials.pop((project_id, provider), None) is not None


class FileCredentialStore:
    """The embedded mode's secrets: one JSON file (`.perceo/secrets/analytics.json`), mode 0600 in a 0700 folder,
    written atomically; `{projectId: {provider: credentials}}`. Never the config file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> dict[str, dict[str, dict[str, Any]]]:
        import json

        try:
            text = self.path.read_text("utf-8")
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(text)
        except ValueError:
            raise ValidationFailed(f"{self.path} is not valid JSON: fix or delete it") from None
        return data if isinstance(data, dict) else {}

    def get(self, project_id: str, provider: str) -> Mapping[str, Any] | None:
        found = self._read().get(project_id, {}).get(provider)
        return found if isinstance(found, dict) else None

    def put(self, project_id: str, provider: str, credentials: Mapping[str, Any]) -> None:
        data = self._read()
        data.setdefault(project_id, {})[provider] = dict(credentials)
        self._write(data)

    def delete(self, project_id: str, provider: str) -> bool:
        """Forget one entry; False when there was none."""
        data = self._read()
        if provider not in data.get(project_id, {}):
            return False
        del data[project_id][provider]
        self._write(data)
        return True

    def _write(self, data: dict[str, dict[str, dict[str, Any]]]) -> None:
        import json

        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=".tmp-", suffix=".part")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out, indent=2)
            Path(temp).replace(self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                Path(temp).unlink()
            raise


class SecretsManagerCredentialStore:
    """The cloud's secrets: one Secrets Manager secret per project, `{prefix}{projectId}`, holding
    `{provider: credentials}` (or, for alert channels, `{channel name: channel}`). The boto3 client is injected;
    errors never carry the secret's value."""

    def __init__(self, client: Any, prefix: str, *, description: str = "Perceo analytics provider credentials") -> None:
        self._sm = client
        self.prefix = prefix
        self.description = description

    def _name(self, project_id: str) -> str:
        return f"{self.prefix}{project_id}"

    def _read(self, project_id: str) -> dict[str, Any] | None:
        import json

        import botocore.exceptions

        try:
            answer = self._sm.get_secret_value(SecretId=self._name(project_id))
        except botocore.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return None
            raise self._failure("read", error) from None
        except botocore.exceptions.BotoCoreError as error:
            raise self._failure("read", error) from None
        try:
            data = json.loads(answer.get("SecretString") or "{}")
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def get(self, project_id: str, provider: str) -> Mapping[str, Any] | None:
        found = (self._read(project_id) or {}).get(provider)
        return found if isinstance(found, dict) else None

    def put(self, project_id: str, provider: str, credentials: Mapping[str, Any]) -> None:
        current = self._read(project_id)
        self._write(project_id, current, {**(current or {}), provider: dict(credentials)})

    def delete(self, project_id: str, provider: str) -> bool:
        """Forget one entry (the secret stays, without it); False when there was none."""
        current = self._read(project_id)
        if not current or provider not in current:
            return False
        self._write(project_id, current, {k: v for k, v in current.items() if k != provider})
        return True

    def _write(self, project_id: str, current: dict[str, Any] | None, new: dict[str, Any]) -> None:
        import json

        import botocore.exceptions

        value = json.dumps(new)
        try:
            if current is None:
                self._sm.create_secret(
                    Name=self._name(project_id),
                    SecretString=value,
                    Description=self.description,
                    Tags=[{"Key": "perceo:projectId", "Value": project_id}],
                )
            else:
                self._sm.put_secret_value(SecretId=self._name(project_id), SecretString=value)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
            raise self._failure("write", error) from None

    @staticmethod
    def _failure(action: str, error: Exception) -> BackendUnavailableError:
        response = getattr(error, "response", None)
        code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
        return BackendUnavailableError(
            f"the credential store (Secrets Manager) failed to {action}: {code or type(error).__name__}",
            dependency="the credential store (Secrets Manager)",
        )
