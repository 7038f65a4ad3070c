"""Where alert channels (a Slack webhook URL, a webhook URL and its signing secret, email recipients) are kept:
never in the config, the graph or a log.

`SecretChannelStore` keeps them in the same secrets store `analytics connect` keeps provider credentials in (the
`KeyedSecrets` port, which `FileCredentialStore` and `SecretsManagerCredentialStore` implement), under its own
name: `.perceo/secrets/alert-channels.json` (mode 0600 in a 0700 folder) in the embedded default, the Secrets
Manager secret `perceo/<stage>/alerts/<projectId>` in the cloud. The composition root builds it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from perceo.analyzer.alerts import Channel


class ChannelStore(Protocol):
    def get(self, project_id: str, name: str) -> Channel | None: ...
    def put(self, project_id: str, channel: Channel) -> None: ...
    def delete(self, project_id: str, name: str) -> bool: ...


class KeyedSecrets(Protocol):
    """Per project and name, one JSON object of secrets (the analytics credential store's shape)."""

    def get(self, project_id: str, provider: str) -> Mapping[str, Any] | None: ...
    def put(self, project_id: str, provider: str, credentials: Mapping[str, Any]) -> None: ...
    def delete(self, project_id: str, provider: str) -> bool: ...


class SecretChannelStore:
    def __init__(self, secrets: KeyedSecrets) -> None:
        self.secrets = secrets

    def get(self, project_id: str, name: str) -> Channel | None:
        return Channel.from_secret(name, self.secrets.get(project_id, name))

    def put(self, project_id: str, channel: Channel) -> None:
        self.secrets.put(project_id, channel.name, channel.to_secret())

    def delete(self, project_id: str, name: str) -> bool:
        return self.secrets.delete(project_id, name)
