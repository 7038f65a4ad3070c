"""OpenAPI security schemes: project API keys (checked by the REQUEST authorizer) and the admin key."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer, SecurityScheme

API_KEY: list[dict[str, list[str]]] = [{"apiKey": []}]
ADMIN_KEY: list[dict[str, list[str]]] = [{"adminKey": []}]

SECURITY_SCHEMES: dict[str, SecurityScheme] = {
    "apiKey": HTTPBearer(
        bearerFormat="prc_…",
        description="A project API key: `Authorization: Bearer prc_…`. Each route names the scope it needs.",
    ),
    "adminKey": HTTPBearer(
        description="The deployment's admin key (from its Secrets Manager secret), only for `POST /projects`.",
    ),
}
