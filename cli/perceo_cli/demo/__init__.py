"""The demo app behind `perceo demo` (and the tests' sample shop): a development tool, never in the Lambda layer."""
