"""Reading the API's secrets (Neo4j credentials, the API key pepper, the admin key) through powertools `parameters`.

Values are cached in the provider for `max_age` seconds, so a rotated secret is picked up without a redeploy.
They are never logged and never put in an error: errors name the secret (its ARN or parameter name) and the
AWS error code only. boto3 is imported when the first secret is read, not when this module is.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from perceo.errors import BackendUnavailableError, ConfigError

_UNREADABLE_CODES = frozenset({"AccessDeniedException", "ResourceNotFoundException", "ParameterNotFound"})


class SecretReader(Protocol):
    def text(self, name: str) -> str:
        """A secret's value as text. `name` is a Secrets Manager ARN/name or an SSM parameter name (`/…`)."""

    def json(self, name: str) -> dict[str, Any]:
        """A secret holding a JSON object."""


class ParametersSecretReader:
    """Secrets Manager (ARNs and names) and SSM SecureString parameters (names starting with `/`), cached.

    `secrets_client` / `ssm_client` are boto3 clients to use (tests pass clients bound to moto); by default
    they are created on first use from the Lambda's environment.
    """

    def __init__(self, *, max_age_s: int = 300, secrets_client: Any = None, ssm_client: Any = None) -> None:
        self._max_age_s = max_age_s
        self._secrets_client = secrets_client
        self._ssm_client = ssm_client
        self._secrets_provider: Any = None
        self._ssm_provider: Any = None

    def text(self, name: str) -> str:
        value = self._get(name)
        if not value.strip():
            raise ConfigError(f"secret {name} is empty", details={"where": name})
        return value.strip()

    def json(self, name: str) -> dict[str, Any]:
        try:
            document = json.loads(self._get(name))
        except json.JSONDecodeError:
            raise ConfigError(f"secret {name} does not hold JSON", details={"where": name}) from None
        if not isinstance(document, dict):
            raise ConfigError(f"secret {name} does not hold a JSON object", details={"where": name})
        return document

    def _get(self, name: str) -> str:
        from aws_lambda_powertools.utilities.parameters import GetParameterError

        try:
            if name.startswith("/"):
                value = self._ssm().get(name, max_age=self._max_age_s, decrypt=True)
            else:
                value = self._secrets().get(name, max_age=self._max_age_s)
        except GetParameterError as error:
            raise _read_error(name, error) from None
        if isinstance(value, bytes):
            return value.decode("utf-8")
        return str(value or "")

    def _secrets(self) -> Any:
        if self._secrets_provider is None:
            from aws_lambda_powertools.utilities.parameters import SecretsProvider

            self._secrets_provider = SecretsProvider(boto3_client=self._secrets_client)
        return self._secrets_provider

    def _ssm(self) -> Any:
        if self._ssm_provider is None:
            from aws_lambda_powertools.utilities.parameters import SSMProvider

            self._ssm_provider = SSMProvider(boto3_client=self._ssm_client)
        return self._ssm_provider


def _read_error(name: str, error: Exception) -> Exception:
    cause = error.__cause__ or error.__context__
    code = "unknown"
    response = getattr(cause, "response", None)
    if isinstance(response, dict):
        code = str(response.get("Error", {}).get("Code", "unknown"))
    if code in _UNREADABLE_CODES:
        return ConfigError(f"cannot read secret {name}: {code}", details={"where": name})
    return BackendUnavailableError(
        f"cannot read secret {name}: {code or type(cause).__name__}", dependency="the secrets store"
    )


class StaticSecretReader:
    """Secrets held in memory: for tests and the local emulator when no Secrets Manager is wanted."""

    def __init__(self, values: dict[str, str]) -> None:
        self._values = dict(values)

    def text(self, name: str) -> str:
        try:
            return self._values[name]
        except KeyError:
            raise ConfigError(
                f"cannot read secret {name}: ResourceNotFoundException", details={"where": name}
            ) from None

    def json(self, name: str) -> dict[str, Any]:
        document = json.loads(self.text(name))
        if not isinstance(document, dict):
            raise ConfigError(f"secret {name} does not hold a JSON object", details={"where": name})
        return document
