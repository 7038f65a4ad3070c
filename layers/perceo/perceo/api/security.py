"""OpenAPI security schemes: project API keys (checked by the REQUEST authorizer) and the admin key.

Routes name them with `API_KEY` / `ADMIN_KEY`; the schemes themselves are built only for the OpenAPI document
(their powertools models are not needed to serve a request, so a Lambda's cold start does not import them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.models import SecurityScheme

API_KEY: list[dict[str, list[str]]] = [{"apiKey": []}]
ADMIN_KEY: list[dict[str, list[str]]] = [{"adminKey": []}]


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
