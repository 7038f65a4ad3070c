"""The local AWS: a moto server on loopback, in this process, that the local cloud's functions call through boto3.

`LocalAws` starts `ThreadedMotoServer` on a free port (or a given one) and hands out clients bound to it.
Functions reach it the way they reach AWS: through `AWS_ENDPOINT_URL` (see `client_environment`), with dummy
credentials, so no call can leave the machine. Moto keeps its state in memory: what the local cloud needs
(secrets, parameters) is seeded at every start from files under `.perceo/`.

It is one reusable server: the Step Functions interpreter (moto's `execute_state_machine` switch, set through
`configure`) runs inside it too. State machines reach Lambda through `http://localhost:$MOTO_PORT`, which is why
`client_environment` also sets `MOTO_PORT`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from perceo.errors import BackendUnavailableError
from perceo_cli.local.server import LOOPBACK

logger = logging.getLogger(__name__)

REGION = "us-east-1"
#: moto accepts any credentials; these make sure boto3 never picks up real ones from the environment.
DUMMY_ACCESS_KEY = "testing"
DUMMY_SECRET_KEY = "testing"  # noqa: S105 - not a secret: moto's documented dummy value


class LocalAws:
    """A moto server in a background thread; `endpoint_url` is what boto3 clients should use."""

    def __init__(self, *, host: str = LOOPBACK, port: int = 0, region: str = REGION) -> None:
        self.host = host
        self.region = region
        self._requested_port = port
        self._server: Any = None

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int:
        if self._server is None:
            raise BackendUnavailableError("the local AWS (moto) server is not running")
        return int(self._server.get_host_and_port()[1])

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> LocalAws:
        try:
            from moto.server import ThreadedMotoServer
        except ImportError as error:
            raise BackendUnavailableError(
                "the local cloud needs moto's server: pip install 'moto[server]' (or perceo's 'local' extra)"
            ) from error
        server = ThreadedMotoServer(ip_address=self.host, port=self._requested_port, verbose=False)
        server.start()
        self._server = server
        logger.info("local AWS (moto) listening on %s", self.endpoint_url)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def configure(self, config: Mapping[str, Any]) -> None:
        """Change moto's runtime config (`POST /moto-api/config`), e.g. `{"stepfunctions": {...}}`."""
        import httpx

        response = httpx.post(f"{self.endpoint_url}/moto-api/config", json=dict(config), timeout=10)
        if response.status_code >= 300:
            raise BackendUnavailableError(f"moto refused its config ({response.status_code})")

    def client(self, service: str) -> Any:
        """A boto3 client for `service`, bound to this server with dummy credentials."""
        import boto3

        return boto3.client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=DUMMY_ACCESS_KEY,
            aws_secret_access_key=DUMMY_SECRET_KEY,
        )

    def client_environment(self) -> dict[str, str]:
        """Environment variables that point boto3 (and powertools `parameters`) in a function at this server."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": DUMMY_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET_KEY,
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "MOTO_PORT": str(self.port),
        }

    def put_secret(self, name: str, value: str, *, description: str = "") -> str:
        """Create the secret (or store a new value in it) and return its ARN."""
        client = self.client("secretsmanager")
        try:
            created = client.create_secret(Name=name, SecretString=value, Description=description)
            return str(created["ARN"])
        except client.exceptions.ResourceExistsException:
            updated = client.put_secret_value(SecretId=name, SecretString=value)
            return str(updated["ARN"])

    def put_parameter(self, name: str, value: str, *, secure: bool = True) -> str:
        """Create or overwrite an SSM parameter; returns its name."""
        self.client("ssm").put_parameter(
            Name=name, Value=value, Type="SecureString" if secure else "String", Overwrite=True
        )
        return name
