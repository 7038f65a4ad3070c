"""powertools `Router`s, one module per API area; `ALL_ROUTERS` lists them for the OpenAPI document."""
