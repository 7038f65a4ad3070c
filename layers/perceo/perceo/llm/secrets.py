"""Read the LLM API key from AWS Secrets Manager (Lambda side). Pass the result as `secret_loader`."""

from __future__ import annotations

import json
from typing import Any

from perceo.errors import ConfigError
from perceo.llm.settings import SecretLoader


def secrets_manager_loader(secret_arn: str, *, client: Any = None, field: str = "apiKey") -> SecretLoader:
    """A loader that reads `secret_arn` once per call with `get_secret_value`.

    The secret is either the key itself or a JSON object holding it under `field`. `client` is a boto3
    Secrets Manager client (built lazily when omitted, so importing this module touches no AWS).
    """

    def load() -> str:
        import botocore.exceptions

        sm = client
        if sm is None:
            import boto3

            sm = boto3.client("secretsmanager")
        try:
            response = sm.get_secret_value(SecretId=secret_arn)
        except botocore.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "unknown")
            raise ConfigError(
                f"cannot read the LLM API key from secret {secret_arn}: {code}", details={"where": secret_arn}
            ) from None
        return _key_from_secret(str(response.get("SecretString") or ""), secret_arn, field)

    return load


def _key_from_secret(secret: str, secret_arn: str, field: str) -> str:
    text = secret.strip()
    if text.startswith("{"):
        try:
            document = json.loads(text)
        except json.JSONDecodeError:
            document = None
        if isinstance(document, dict):
            value = document.get(field)
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(
                    f"secret {secret_arn} has no string field {field!r}", details={"where": f"{secret_arn}#{field}"}
                )
            return value.strip()
    if not text:
        raise ConfigError(f"secret {secret_arn} is empty", details={"where": secret_arn})
    return text
