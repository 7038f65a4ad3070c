"""A project's git credentials: an optional Secrets Manager secret `{prefix}{projectId}`, read by the clone step.

The secret is JSON, one of:

    {"token": "ghp_…", "username": "x-access-token"}        # HTTPS (username optional)
    {"sshPrivateKey": "-----BEGIN OPENSSH PRIVATE KEY-----…", "knownHosts": "github.com ssh-ed25519 AAAA…"}

No secret means a public repository. Credentials never come from the API request or the execution input, so they
never appear in Step Functions history, and they are never logged (errors name the secret, not its content).
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from pydantic import SecretStr

from perceo.errors import ConfigError
from perceo.workflows.clone import GitCredentials
from perceo.workflows.errors import WorkflowBackendError


class GitCredentialSource(Protocol):
    def credentials_for(self, project_id: str) -> GitCredentials | None:
        """The project's credentials, or None when it has none (public repositories)."""


class NoGitCredentials:
    def credentials_for(self, project_id: str) -> GitCredentials | None:
        return None


class SecretsManagerGitCredentials:
    def __init__(self, client: Any, prefix: str) -> None:
        self._client = client
        self._prefix = prefix

    def credentials_for(self, project_id: str) -> GitCredentials | None:
        import botocore.exceptions

        name = f"{self._prefix}{project_id}"
        try:
            response = self._client.get_secret_value(SecretId=name)
        except botocore.exceptions.ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", "unknown"))
            if code == "ResourceNotFoundException":
                return None
            if code == "AccessDeniedException":
                raise ConfigError(f"cannot read the git secret {name}: {code}", details={"where": name}) from None
            raise WorkflowBackendError(f"cannot read the git secret {name}: {code}") from None
        except botocore.exceptions.BotoCoreError as exc:
            raise WorkflowBackendError(f"cannot read the git secret {name}: {type(exc).__name__}") from None
        return parse_git_secret(str(response.get("SecretString") or ""), name)


def parse_git_secret(text: str, name: str) -> GitCredentials:
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        raise ConfigError(f"git secret {name} does not hold JSON", details={"where": name}) from None
    if not isinstance(document, dict):
        raise ConfigError(f"git secret {name} does not hold a JSON object", details={"where": name})
    token, key, hosts = document.get("token"), document.get("sshPrivateKey"), document.get("knownHosts")
    if isinstance(token, str) and token.strip():
        username = document.get("username")
        return GitCredentials(
            token=SecretStr(token.strip()),
            username=username.strip() if isinstance(username, str) and username.strip() else "x-access-token",
        )
    if isinstance(key, str) and key.strip() and isinstance(hosts, str) and hosts.strip():
        return GitCredentials(ssh_private_key=SecretStr(key), known_hosts=hosts)
    raise ConfigError(
        f"git secret {name} needs either `token` or both `sshPrivateKey` and `knownHosts`", details={"where": name}
    )
