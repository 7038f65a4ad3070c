"""Builders shared by the analyzer's integration tests (imported as `analyzer_kit`)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

import numpy as np

from perceo.graph.cypher import CypherFlowGraph
from perceo.models import ChangeAnalysis, Flow, FlowMetrics, ImpactedFlow, Project, Step, TestRun


@dataclass
class Clock:
    """An injectable clock in epoch ms."""

    now: int = 1_772_049_600_000  # 2026-02-25 20:00 UTC

    def __call__(self) -> int:
        return self.now


# --------------------------------------------------------------------------------------------------
# A shop whose data supports every insight rule (the day of analysis is TODAY)


TODAY = "2026-02-25"
DAYS = 70
WEEK = np.array([1.0, 1.05, 1.05, 1.0, 0.95, 0.6, 0.55])
DAY_MS = 86_400_000


def day(offset: int) -> str:
    """The day `offset` days before TODAY."""
    return (dt.date.fromisoformat(TODAY) - dt.timedelta(days=offset)).isoformat()


def at(offset: int, hour: int = 12) -> int:
    """Epoch ms at `hour` UTC, `offset` days before TODAY."""
    moment = dt.datetime.fromisoformat(day(offset)).replace(tzinfo=dt.UTC) + dt.timedelta(hours=hour)
    return int(moment.timestamp() * 1000)


@dataclass
class Shop:
    project: Project
    flows: dict[str, Flow]


def _metrics(project: Project, flow: Flow, rng: np.random.Generator, *, users: int, p: float, **shape: object):  # type: ignore[no-untyped-def]
    out = []
    for offset in range(DAYS - 1, -1, -1):
        d = day(offset)
        weekday = dt.date.fromisoformat(d).weekday()
        people = int(rng.poisson(users * WEEK[weekday]))
        sessions = int(people * 1.2)
        rate = p
        if offset < int(shape.get("drop_days", 0)):
            rate = p * (1 - float(shape["drop"]))  # type: ignore[arg-type]
        completions = int(rng.binomial(sessions, rate))
        duration = float(60_000 * np.exp(rng.normal(0, 0.04)))
        if offset < int(shape.get("slow_days", 0)):
            duration *= 2.2
        step2 = float(2000 * np.exp(rng.normal(0, 0.05)))
        if offset < int(shape.get("step_slow_days", 0)):
            step2 = float(5200 * np.exp(rng.normal(0, 0.05)))
        dropped = sessions - completions
        drop_off = {"3": int(dropped * 0.8), "2": dropped - int(dropped * 0.8)} if shape.get("dropoff") else {}
        out.append(
            FlowMetrics(
                project_id=project.id, flow_id=flow.id, day=d, sessions=sessions, completions=completions,
                prod_success_rate=completions / sessions, prod_daily_users=people, median_duration_ms=duration,
                drop_off=drop_off, step_median_ms=[None, step2, 1500.0],
            )
        )  # fmt: skip
    return out


def build_shop(graph: CypherFlowGraph, *, seed: int = 11) -> Shop:
    """Checkout (critical): tests pass, production success fell 40% two days ago after commit aaaa…, and a pending
    change cccc… reaches it. Search: 1,000 users a day, no test, and 2.2x slower since yesterday. Signup: drop-off
    at step 3 and step 2 slower for 7 days. Profile: tests passed at 1111… and fail since bbbb…."""
    rng = np.random.default_rng(seed)
    project = graph.create_project(Project(id=f"p-{uuid.uuid4().hex[:10]}", name="Shop", framework="nextjs"))
    flows = {
        name: Flow(project_id=project.id, name=name, priority=priority)
        for name, priority in (("Checkout", "critical"), ("Search", "high"), ("Signup", "medium"), ("Profile", "low"))
    }
    graph.upsert_flows(project.id, list(flows.values()))
    signup = flows["Signup"]
    graph.replace_steps(project.id, signup.id, [
        Step(flow_id=signup.id, order=1, name="Open signup"),
        Step(flow_id=signup.id, order=2, name="Fill the form"),
        Step(flow_id=signup.id, order=3, name="Confirm email"),
    ])  # fmt: skip
    metrics = [
        *_metrics(project, flows["Checkout"], rng, users=800, p=0.8, drop=0.4, drop_days=2),
        *_metrics(project, flows["Search"], rng, users=1000, p=0.95, slow_days=1),
        *_metrics(project, flows["Signup"], rng, users=600, p=0.6, dropoff=True, step_slow_days=7),
        *_metrics(project, flows["Profile"], rng, users=30, p=0.9),
    ]
    graph.upsert_flow_metrics(project.id, metrics)
    checkout, profile = flows["Checkout"], flows["Profile"]
    runs = [
        *(TestRun(project_id=project.id, flow_id=checkout.id, status="passed", commit_sha=f"{i:040x}",
                  created_at=at(i + 1), runner="playwright") for i in range(5)),
        TestRun(project_id=project.id, flow_id=profile.id, status="passed", commit_sha="1" * 40, created_at=at(5)),
        TestRun(project_id=project.id, flow_id=profile.id, status="failed", commit_sha="b" * 40, created_at=at(3),
                failure_message="expected the avatar to be visible"),
        TestRun(project_id=project.id, flow_id=profile.id, status="failed", commit_sha="d" * 40, created_at=at(1)),
    ]  # fmt: skip
    graph.record_test_runs(project.id, runs)
    graph.record_analysis(
        ChangeAnalysis(project_id=project.id, base_sha="0" * 40, head_sha="a" * 40, risk_level="high", risk_score=0.7,
                       flows=[ImpactedFlow(id=checkout.id, name="Checkout", risk_score=0.7, confidence=0.85)],
                       created_at=at(2, hour=8))
    )  # fmt: skip
    graph.record_analysis(
        ChangeAnalysis(project_id=project.id, base_sha="a" * 40, head_sha="c" * 40, risk_level="critical",
                       risk_score=0.9, flows=[ImpactedFlow(id=checkout.id, name="Checkout", risk_score=0.9,
                                                           confidence=0.85, affected_pages=["/checkout"])],
                       created_at=at(0, hour=9))
    )  # fmt: skip
    return Shop(project=project, flows=flows)


# --------------------------------------------------------------------------------------------------
# Alert receivers on loopback

SECRET = "whsec-test-0123456789"


@dataclass
class Receiver:
    """A webhook receiver: verifies signatures (when it has a secret) and answers the next planned statuses."""

    secret: str | None = None
    statuses: list[int] = field(default_factory=list)
    received: list[dict[str, object]] = field(default_factory=list)
    refused: int = 0
    url: str = ""
