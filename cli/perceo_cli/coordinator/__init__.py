"""The coordinator's CLI side: finding tests, mapping them to flows, running them with the project's runner.

Not in the Lambda layer: it spawns local test tools (Playwright, Cypress, pytest, any command) on a checkout.
"""
