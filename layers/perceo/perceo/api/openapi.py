"""The API's OpenAPI document, generated from the routers (the one source of truth).

Served at `GET /openapi.json` and checked in as `openapi.json` at the repository root; a test keeps the two
equal. Regenerate the checked-in copy after changing a route or a model:

    .venv/bin/python -m perceo.api.openapi > openapi.json
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import sys
from types import ModuleType

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from perceo import __version__
from perceo.api import routers
from perceo.api.errors import register_error_handlers
from perceo.api.security import security_schemes

TITLE = "Perceo API"
DESCRIPTION = (
    "Which of your users' flows a code change puts at risk. Authenticate with a project API key "
    "(`Authorization: Bearer prc_…`); each route names the scope it needs. Errors have the body "
    "`{error: {code, message, details}}`."
)


def router_modules() -> list[ModuleType]:
    """Every module of `perceo.api.routers`, by name: a new area's router is documented once its file exists."""
    names = sorted(info.name for info in pkgutil.iter_modules(routers.__path__) if not info.name.startswith("_"))
    return [importlib.import_module(f"{routers.__name__}.{name}") for name in names]


def build_app() -> APIGatewayRestResolver:
    """A resolver with every router of the API (only for the document: each Lambda serves its own area)."""
    app = APIGatewayRestResolver(enable_validation=True)
    for module in router_modules():
        app.include_router(module.router)
    register_error_handlers(app)
    return app


@functools.cache
def openapi_json() -> str:
    """The OpenAPI document as JSON text (built once per process)."""
    document: str = build_app().get_openapi_json_schema(
        title=TITLE,
        version=__version__,
        description=DESCRIPTION,
        security_schemes=security_schemes(),
    )
    return document + "\n"


def main() -> int:
    sys.stdout.write(openapi_json())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
