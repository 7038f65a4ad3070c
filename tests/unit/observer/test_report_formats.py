"""The JSON contract (schemaVersion 1), the text report and the Markdown PR comment."""

from __future__ import annotations

import json

from perceo.models import AffectedRoute, ChangeAnalysis, ChangedFile, ImpactedFlow, Reason
from perceo.observer.model import DiscoveryResult, NavEdge, RouteEntry
from perceo_cli.report import (
    MARKDOWN_MARKER,
    analysis_contract,
    render_markdown,
    render_routes_text,
    render_text,
    routes_contract,
)

REASON = Reason(changed_file="components/Pay | Button.tsx", chain=["components/Pay | Button.tsx", "app/pay/page.tsx"])


def _analysis() -> ChangeAnalysis:
    return ChangeAnalysis(
        id="an1",
        project_id="p1",
        base_sha="a" * 40,
        head_sha="b" * 40,
        risk_level="high",
        risk_score=0.72,
        files=[
            ChangedFile(path="components/Pay | Button.tsx", status="modified", additions=3, deletions=1),
            ChangedFile(path="lib/new.ts", status="renamed", old_path="lib/old.ts"),
        ],
        affected_routes=[AffectedRoute(route="/pay", files=[REASON.changed_file], reasons=[REASON], distance=1)],
        flows=[
            ImpactedFlow(
                id="f1",
                name="Checkout",
                priority="critical",
                risk_score=0.72,
                confidence=0.85,
                affected_pages=["/pay"],
                reasons=[REASON.model_copy(update={"route": "/pay"})],
            )
        ],
        created_at=1700000000000,
    )


def test_json_contract_has_the_documented_keys_and_is_serialisable() -> None:
    doc = analysis_contract(_analysis(), project_name="Shop")
    assert list(doc) == [
        "schemaVersion",
        "project",
        "analysisId",
        "baseSha",
        "headSha",
        "workingTree",
        "changes",
        "affectedRoutes",
        "flows",
        "riskLevel",
        "riskScore",
        "createdAt",
        "productionTraffic",  # added within version 1 (production analytics)
        "riskExplanation",  # added within version 1 (issue 13, class 9: how riskScore is reached)
    ]
    assert doc["schemaVersion"] == 1
    assert doc["project"] == {"id": "p1", "name": "Shop"}
    assert doc["changes"][1] == {
        "path": "lib/new.ts",
        "status": "renamed",
        "oldPath": "lib/old.ts",
        "additions": None,
        "deletions": None,
    }
    route = doc["affectedRoutes"][0]
    assert set(route) == {"route", "distance", "confidence", "files", "reasons"}
    assert route["reasons"][0] == {"changedFile": REASON.changed_file, "chain": REASON.chain, "kind": "import"}
    flow = doc["flows"][0]
    assert set(flow) == {
        "id",
        "name",
        "priority",
        "riskScore",
        "confidence",
        "affectedPages",
        "reasons",
        "usersPerDay",
        "prodSuccessRate",
    }
    assert (flow["usersPerDay"], doc["productionTraffic"]) == (None, False)
    assert flow["reasons"][0]["route"] == "/pay"
    assert (doc["riskLevel"], doc["riskScore"], doc["createdAt"]) == ("high", 0.72, 1700000000000)
    json.dumps(doc)


def test_markdown_is_a_pr_comment_with_a_marker_a_flow_table_and_escaped_cells() -> None:
    md = render_markdown(_analysis(), project_name="Shop")
    assert md.startswith(MARKDOWN_MARKER + "\n## 🟠 Perceo: high risk (0.72)")
    assert "| Flow | Priority | Risk | Confidence | Affected pages |" in md
    assert "| Checkout | critical | 0.72 | 0.85 | `/pay` |" in md
    assert "`components/Pay \\| Button.tsx` → `app/pay/page.tsx`" in md  # a pipe must not break the table
    assert "renamed: `lib/old.ts` → `lib/new.ts`" in md
    assert md.count("<details>") == md.count("</details>") == 3


def test_markdown_before_init_says_how_to_map_flows() -> None:
    analysis = _analysis().model_copy(update={"flows": []})
    assert "Run `perceo init`" in render_markdown(analysis, project_name="Shop")


def test_text_report_shows_risk_flows_reasons_routes_and_files() -> None:
    text = render_text(_analysis(), project_name="Shop")
    assert "Overall risk: HIGH (0.72)" in text
    assert "Checkout  [critical]" in text
    assert "components/Pay | Button.tsx → app/pay/page.tsx" in text
    assert "→ lib/old.ts → lib/new.ts" in text
    assert "Recommendation: test Checkout before merging." in text


def test_text_report_for_no_changes() -> None:
    empty = ChangeAnalysis(project_id="p1", base_sha="a" * 40, head_sha="a" * 40)
    assert "No changes found." in render_text(empty, project_name="Shop")


def test_routes_contract_and_text() -> None:
    discovery = DiscoveryResult(
        framework="nextjs",
        routes=[
            RouteEntry(route="/", framework="nextjs", entry_files=["app/page.tsx"], layout_files=["app/layout.tsx"]),
            RouteEntry(route="/api/items", kind="api", framework="nextjs", entry_files=["app/api/items/route.ts"]),
        ],
        navigation=[NavEdge(source="/", target="/api/items", kind="href", file="app/page.tsx", line=3)],
        imports={"app/page.tsx": []},
    )
    doc = routes_contract(discovery)
    assert doc["schemaVersion"] == 1
    assert doc["routes"][0] == {
        "route": "/",
        "kind": "page",
        "app": "",
        "framework": "nextjs",
        "entryFiles": ["app/page.tsx"],
        "layoutFiles": ["app/layout.tsx"],
        "hash": False,  # added within version 1 (issue 13, class 6)
        "url": "/",
    }
    assert doc["navigation"] == [
        {
            "source": "/",
            "target": "/api/items",
            "kind": "href",
            "file": "app/page.tsx",
            "line": 3,
            "hash": False,
            "sourceUrl": "/",
            "targetUrl": "/api/items",
        }
    ]
    assert "imports" not in doc
    text = render_routes_text(discovery)
    assert "/api/items  app/api/items/route.ts (api)" in text
    assert "/ → /api/items  (href, app/page.tsx:3)" in text


def test_routes_of_a_hash_routed_app_show_their_browser_urls() -> None:
    discovery = DiscoveryResult(
        framework="react-router",
        routes=[
            RouteEntry(route="/", framework="react-router", entry_files=["src/Home.tsx"], hash=True),
            RouteEntry(route="/users/:id", framework="react-router", entry_files=["src/User.tsx"], hash=True),
        ],
        navigation=[
            NavEdge(source="/", target="/users/:id", kind="to", file="src/Home.tsx", line=4, hash=True),
        ],
    )
    doc = routes_contract(discovery)
    assert [(r["route"], r["hash"], r["url"]) for r in doc["routes"]] == [
        ("/", True, "/#/"),
        ("/users/:id", True, "/#/users/:id"),
    ]
    [edge] = doc["navigation"]
    assert (edge["hash"], edge["sourceUrl"], edge["targetUrl"]) == (True, "/#/", "/#/users/:id")
    assert "(url /#/users/:id)" in render_routes_text(discovery)
