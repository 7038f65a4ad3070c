"""The `perceo` command-line interface."""
