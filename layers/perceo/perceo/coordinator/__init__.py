"""The coordinator: test results, flows run in a browser, test-run records, predictions checked against outcomes.

What Lambdas and the CLI share lives here; what only a checkout needs (finding tests, mapping them to flows,
spawning Playwright/Cypress/pytest) lives in `perceo_cli.coordinator`.

- `model`: TestCase/FlowOutcome/SuiteReport (the `ci test --json` contract), synthetic step and flow results
- `junit`, `playwright_report`, `markdown`: reports in and out
- `outcomes`: flow outcomes -> TestRun records; flaky tests from history
- `predictions`, `observation`: prediction quality; what a selection would have caught and saved
- `synthetic` (port, `find_chromium`) and `browser` (playwright-python adapter, imported only to run flows)
- `service.CoordinatorService`: the one entry point for commands, routes and the RunTests task
"""
