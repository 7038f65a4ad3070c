"""HTTP transport for the Lambda handlers: routers, error mapping, the caller, OpenAPI (services: `perceo.wiring`).

Nothing here is domain logic: routes authorize, map the request model onto a `ProjectService` /
`ApiKeyService` call and return a response model. `functions/api/<area>/app.py` puts the pieces together.
"""
