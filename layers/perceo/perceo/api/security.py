"""OpenAPI security schemes: project API keys (checked by the REQUEST authorizer) and the admin key.

Routes name them with `requires(scope, …)` / `ADMIN_KEY`: a route's `security` lists the scopes that let a key in,
one requirement per scope (any one suffices; OpenAPI 3.1 lets a requirement carry the roles a scheme needs), the
same scopes its `authorize(...)` checks (tests/reliability holds the two equal for every scope and route). The
schemes themselves are built only for the OpenAPI document
(their powertools models are not needed to serve a request, so a Lambda's cold start does not import them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.models import SecurityScheme

API_KEY: list[dict[str, list[str]]] = [{"apiKey": []}]
ADMIN_KEY: list[dict[str, list[str]]] = [{"adminKey": []}]


def requires(*any_of: str) -> list[dict[str, list[str]]]:
    """A project API key with any one of these scopes (`project:admin` grants all); any valid key when none."""
    return [{"apiKey": [scope]} for scope in any_of] or API_KEY


def security_schemes() -> dict[str, SecurityScheme]:
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    return {
        "apiKey": HTTPBearer(
            bearerFormat="prc_…",
            description="A project API key: `Authorization: Bearer prc_…`. Each route names the scope it needs.",
        ),
        "adminKey": HTTPBearer(
            description="The deployment's admin key (from its Secrets Manager secret), only for `POST /projects`.",
        ),
    }
