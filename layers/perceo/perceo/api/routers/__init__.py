"""powertools `Router`s, one module per API area, each exposing `router`; `perceo.api.openapi` documents them all."""
