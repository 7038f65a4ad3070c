"""Sessions to daily flow metrics, worked by hand: walks, drop-offs, durations, users, revenue at risk, gap score,
the paths no flow covers, and GA4 page funnels."""

from __future__ import annotations

import pytest

from perceo.analytics.correlation import Correlator, FlowSpec, flow_specs, pages_metrics
from perceo.analytics.model import PageTraffic, Session
from perceo.analytics.routes import RouteMapper, RouteTokens
from perceo.models import FlowView

DAY = "2026-03-09"
T0 = 1_773_014_400_000 + 10 * 3_600_000  # 2026-03-09 10:00 UTC
S = 1000

CHECKOUT = FlowSpec("f-checkout", "Checkout", ("/cart", "/checkout", "/checkout/payment", "/order/:id"), value=80.0)
BROWSE = FlowSpec("f-browse", "Browse", ("/", "/products/:id"), coverage=0.5)
OTHER = ("/about", "/team", "/careers")


def session(tokens: RouteTokens, user: str, routes: list[str], *, gap_s: int = 10, revenue: float = 0.0) -> Session:
    ids = [tokens.token(r) for r in routes]
    times = [T0 + n * gap_s * S for n in range(len(routes))]
    return Session(user=user, start=times[0], end=times[-1], tokens=ids, times=times, revenue=revenue)


def correlate(sessions: list[list[str]], **options: object) -> tuple[dict[str, object], Correlator]:
    tokens = RouteTokens([*CHECKOUT.routes, *BROWSE.routes])
    correlator = Correlator("shop", [CHECKOUT, BROWSE], tokens, **options)  # type: ignore[arg-type]
    for n, routes in enumerate(sessions):
        correlator.add(session(tokens, f"u{n % 4}", routes, revenue=50.0 if routes[-1] == "/order/:id" else 0.0))
    return {m.flow_id: m for m in correlator.metrics([DAY], updated_at=1)}, correlator


def test_completions_drop_offs_and_durations_of_a_flow_per_day() -> None:
    metrics, correlator = correlate(
        [
            ["/cart", "/checkout", "/checkout/payment", "/order/:id"],  # completes in 30 s
            ["/cart", "/checkout", "/about", "/checkout/payment", "/order/:id"],  # a stray page; completes in 40 s
            ["/cart", "/checkout"],  # drops before step 3
            ["/cart", "/checkout", "/checkout/payment"],  # drops before step 4
            ["/cart"],  # one page: did not walk the flow
        ]
    )
    checkout = metrics["f-checkout"]

    assert (checkout.sessions, checkout.completions, checkout.prod_success_rate) == (4, 2, 0.5)
    assert checkout.drop_off == {"3": 1, "4": 1} and checkout.prod_top_exit_step == 3
    assert (checkout.median_duration_ms, checkout.prod_avg_duration_ms) == (35_000.0, 35_000.0)
    assert checkout.step_median_ms == [None, 10_000.0, 10_000.0, 10_000.0]
    assert checkout.prod_daily_users == 4  # u0..u3 (the fifth session is u0 again, and did not walk)
    assert correlator.totals.sessions == 5 and correlator.totals.matched_sessions == 4


def test_revenue_at_risk_uses_the_revenue_property_else_the_flow_value_else_the_order_value() -> None:
    walks = [["/cart", "/checkout", "/checkout/payment", "/order/:id"], ["/cart", "/checkout"]]

    with_property, _ = correlate(walks, revenue_property="revenue")
    with_value, _ = correlate(walks)
    unknown = Correlator("shop", [FlowSpec("f", "F", ("/a", "/b"))], RouteTokens())

    assert with_property["f-checkout"].revenue_at_risk == 50.0  # 1 dropped x 50 revenue per completion
    assert with_value["f-checkout"].revenue_at_risk == 80.0  # 1 dropped x the flow's value
    assert unknown.metrics([DAY], updated_at=1)[0].revenue_at_risk is None


def test_gap_score_weighs_traffic_by_what_no_test_covers() -> None:
    metrics, _ = correlate(
        [["/", "/products/:id"]] * 4 + [["/cart", "/checkout", "/checkout/payment", "/order/:id"]] * 2
    )

    # Browse: the most walked flow (4 users) half covered -> 0.5; Checkout: 2 users of 4, untested -> 0.5
    assert metrics["f-browse"].gap_score == 0.5
    assert metrics["f-checkout"].gap_score == 0.5


def test_a_flow_nobody_walked_gets_zero_metrics_for_the_day() -> None:
    metrics, _ = correlate([["/", "/products/:id"]])

    checkout = metrics["f-checkout"]
    assert (checkout.sessions, checkout.prod_success_rate, checkout.gap_score, checkout.drop_off) == (0, None, 0.0, {})


def test_paths_that_walk_no_flow_are_counted_as_untested() -> None:
    _, correlator = correlate([list(OTHER)] * 3 + [["/about"]] + [["/", "/products/:id"]])

    (top,) = correlator.untested()
    assert (top.routes, top.sessions) == (list(OTHER), 3)


def test_sessions_are_aligned_in_batches_with_the_same_result() -> None:
    walks = [
        ["/cart", "/checkout", "/checkout/payment", "/order/:id"],
        ["/cart", "/checkout"],
        ["/", "/products/:id"],
    ] * 7

    whole, _ = correlate(walks)
    batched, _ = correlate(walks, batch_sessions=4)

    assert whole == batched


def test_flow_specs_use_pages_in_order_collapsed_else_the_entry_point_and_skip_inactive_flows() -> None:
    flows = [
        FlowView(id="a", project_id="shop", name="A", pages=["/", "/", "/cart"], coverage_score=0.3),
        FlowView(id="b", project_id="shop", name="B", entry_point="/login"),
        FlowView(id="c", project_id="shop", name="C", pages=["/x"], is_active=False),
        FlowView(id="d", project_id="shop", name="D"),
    ]

    specs = flow_specs(flows, {"A": 10.0, "b": 5.0})

    assert specs == [FlowSpec("a", "A", ("/", "/cart"), 0.3, 10.0), FlowSpec("b", "B", ("/login",), None, 5.0)]


def test_ga4_pages_give_an_estimated_funnel_per_flow() -> None:
    rows = [
        PageTraffic(DAY, "/cart", 120, 90, 100),
        PageTraffic(DAY, "/checkout", 70, 60, 60),
        PageTraffic(DAY, "/checkout/payment", 80, 55, 70),  # more than the step before: capped at 60
        PageTraffic(DAY, "/order/17", 30, 30, 30),
        PageTraffic(DAY, "/order/18", 12, 12, 12),
    ]
    mapper = RouteMapper([*CHECKOUT.routes, *BROWSE.routes])

    (checkout, browse) = pages_metrics("shop", [CHECKOUT, BROWSE], mapper, rows, DAY, updated_at=1)

    assert checkout.basis == "pages"
    assert (checkout.sessions, checkout.completions) == (100, 42)
    assert checkout.drop_off == {"2": 40, "4": 18} and checkout.prod_top_exit_step == 2
    assert checkout.prod_success_rate == pytest.approx(0.42) and checkout.revenue_at_risk == 58 * 80.0
    assert (browse.sessions, browse.prod_success_rate, browse.gap_score) == (0, None, 0.0)
