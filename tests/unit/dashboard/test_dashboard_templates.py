"""The dashboard's templates on their own: what a view says from the figures it is given."""

from __future__ import annotations

from perceo.coordinator.predictions import PredictionQuality
from perceo_cli.dashboard.app import VIEWS, _templates
from perceo_cli.dashboard.data import TestSummary


def _render_tests(summary: TestSummary) -> str:
    return (
        _templates()
        .get_template("tests.html")
        .render(project_name="shop", views=VIEWS, view="tests", live=False, summary=summary, notice=None, names={})
    )


def test_the_tests_view_gives_the_selection_recall_when_predictions_were_checked() -> None:
    quality = PredictionQuality(
        predictions=10, validated=8, decided=8, true_positives=3, false_negatives=1, false_positives=2,
        true_negatives=2, precision=0.6, recall=0.75,
    )  # fmt: skip
    from perceo.models.runs import TestRun

    run = TestRun(project_id="p", flow_id="f", status="failed", runner="pytest", failure_message="<b>boom</b>")
    page = _render_tests(TestSummary(runs=[run], failures=[run], flaky=[], pass_rate=0.0, selection=quality))

    assert "had named 75% as affected" in page and "3 caught, 1 missed; precision 60%" in page
    assert "8 validated predictions" in page
    assert "&lt;b&gt;boom&lt;/b&gt;" in page and "<b>boom</b>" not in page  # escaped


def test_without_checked_predictions_it_says_how_to_get_them() -> None:
    from perceo.models.runs import TestRun

    run = TestRun(project_id="p", flow_id="f", status="passed", runner="pytest")
    page = _render_tests(TestSummary(runs=[run], failures=[], flaky=[], pass_rate=1.0, selection=None))

    assert "No prediction checked against a test outcome yet" in page
