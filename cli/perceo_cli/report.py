"""How a change analysis (and a route discovery) is shown: the versioned JSON contract, text and Markdown.

JSON contract of `perceo ci analyze --json`, schemaVersion 1 (README: "ci analyze JSON"). Keys are never removed
or renamed within a schema version; new optional keys may be added.

    {
      "schemaVersion": 1,
      "project": {"id": str, "name": str},
      "analysisId": str,
      "baseSha": str,            # the commit the diff starts from: the merge base of --base and --head
      "headSha": str,
      "workingTree": bool,       # true with --working-tree (uncommitted and untracked changes)
      "changes": [{"path": str, "status": "added|modified|deleted|renamed|copied", "oldPath": str|null,
                   "additions": int|null, "deletions": int|null,
                   "symbols": [str],          # only when symbol-level impact followed the module's changed exports
                   "symbolImporters": int}],  # with symbols: files that import one of them (0: nothing uses them)
      "affectedRoutes": [{"route": str, "distance": int, "confidence": float,
                          "files": [str],                     # every changed file that reaches the route
                          "reasons": [{"changedFile": str, "chain": [str], "kind": str,
                                       "symbols": [str], "detail": str}]}],  # the last two: symbol-level only
      "flows": [{"id": str, "name": str, "priority": "critical|high|medium|low", "riskScore": float,
                 "confidence": float, "affectedPages": [str],
                 "reasons": [{"changedFile": str, "chain": [str], "kind": str, "route": str,
                              "symbols": [str], "detail": str}],  # the last two: symbol-level only
                 "usersPerDay": float|null,        # production users per day (last week's flow metrics)
                 "prodSuccessRate": float|null}],  # production sessions that completed the flow
      "riskLevel": "critical|high|medium|low",
      "riskScore": float,
      "createdAt": int,          # epoch milliseconds
      "productionTraffic": bool, # whether flow metrics weighed the flows (false: none exist yet)
      "riskExplanation": {"formula": str, "combine": "max",   # riskScore = max(inputs[].riskScore), 0 if none
                          "inputs": [{"type": "flow|route", "id": str (flows), "name": str, "riskScore": float}],
                          "routeScoring": str, "decidedBy": {"type", "name", "riskScore"}|null,
                          "riskScore": float, "riskLevel": str}
    }

`chain` runs from the changed file to the route's entry or layout file; `kind` is entry|layout|import|dependency|
global. Flows are sorted riskiest first, routes nearest first. Reasons are capped at 20 per route and per flow.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from perceo.models import AffectedRoute, ChangeAnalysis, ChangedFile, ImpactedFlow, Reason
from perceo.observer.model import DiscoveryResult
from perceo.observer.risk import explain, risk_inputs, route_confidence
from perceo_cli.output import plural

if TYPE_CHECKING:
    from perceo.observer.model import DiscoveryResult

SCHEMA_VERSION = 1
ROUTES_SCHEMA_VERSION = 1
#: Marks Perceo's PR comment so a CI step can update it instead of adding a new one.
MARKDOWN_MARKER = "<!-- perceo:ci-analyze -->"

_STATUS_MARK = {"added": "+", "modified": "~", "deleted": "-", "renamed": "→", "copied": "⇒"}
_LEVEL_BADGE = {"critical": "🔴", "high": "🟠", "medium": "🟡", "low": "🟢"}


def analysis_contract(analysis: ChangeAnalysis, *, project_name: str, working_tree: bool = False) -> dict[str, Any]:
    """The `ci analyze --json` document (schemaVersion 1)."""
    return {
        "schemaVersion": SCHEMA_VERSION,
        "project": {"id": analysis.project_id, "name": project_name},
        "analysisId": analysis.id,
        "baseSha": analysis.base_sha,
        "headSha": analysis.head_sha,
        "workingTree": working_tree,
        "changes": [_change(c) for c in analysis.files],
        "affectedRoutes": [_route(r) for r in analysis.affected_routes],
        "flows": [_flow(f) for f in analysis.flows],
        "riskLevel": analysis.risk_level,
        "riskScore": analysis.risk_score,
        "createdAt": analysis.created_at,
        "productionTraffic": analysis.production_traffic,
        "riskExplanation": explain(analysis.flows, analysis.affected_routes, analysis.files),
    }


def _change(change: ChangedFile) -> dict[str, Any]:
    return {
        "path": change.path,
        "status": change.status,
        "oldPath": change.old_path,
        "additions": change.additions,
        "deletions": change.deletions,
        # symbol-level impact: only on modules whose changed exports were followed
        **(
            {"symbols": change.symbols, "symbolImporters": change.symbol_importers}
            if change.symbols is not None
            else {}
        ),
    }


def _reason(reason: Reason, *, with_route: bool) -> dict[str, Any]:
    data: dict[str, Any] = {"changedFile": reason.changed_file, "chain": list(reason.chain), "kind": reason.kind}
    if with_route:
        data["route"] = reason.route
    if reason.detail is not None:  # symbol-level impact: what the chain's next file imports
        data["symbols"] = list(reason.symbols)
        data["detail"] = reason.detail
    return data


def _route(route: AffectedRoute) -> dict[str, Any]:
    return {
        "route": route.route,
        "distance": route.distance,
        "confidence": round(route_confidence(route), 3),
        "files": list(route.files),
        "reasons": [_reason(r, with_route=False) for r in route.reasons],
    }


def _flow(flow: ImpactedFlow) -> dict[str, Any]:
    return {
        "id": flow.id,
        "name": flow.name,
        "priority": flow.priority,
        "riskScore": flow.risk_score,
        "confidence": flow.confidence,
        "affectedPages": list(flow.affected_pages),
        "reasons": [_reason(r, with_route=True) for r in flow.reasons],
        "usersPerDay": flow.users_per_day,
        "prodSuccessRate": flow.prod_success_rate,
    }


def _short(sha: str) -> str:
    return sha[:10]


def _chain(reason: Reason) -> str:
    return " → ".join(reason.chain) if reason.chain else reason.changed_file


def _more(total: int, shown: int) -> str:
    return f" (+{total - shown} more)" if total > shown else ""


def _traffic(flow: ImpactedFlow) -> str:
    if flow.users_per_day is None:
        return ""
    rate = "" if flow.prod_success_rate is None else f", {flow.prod_success_rate:.0%} complete"
    return f"  users/day {flow.users_per_day:g}{rate}"


def _traffic_note(analysis: ChangeAnalysis) -> str:
    if analysis.production_traffic:
        return "  Weighed by production traffic (users/day over the last 7 days of flow metrics)."
    return "  No production traffic known: flows weighed by priority only (`perceo analytics sync` adds it)."


def render_text(analysis: ChangeAnalysis, *, project_name: str, working_tree: bool = False) -> str:
    """A report for people reading a terminal or a CI log."""
    head = "working tree" if working_tree else _short(analysis.head_sha)
    lines = [
        f"Perceo change analysis — {project_name}",
        f"Diff: {_short(analysis.base_sha)}...{head}  ({plural(len(analysis.files), 'changed file')})",
        f"Overall risk: {analysis.risk_level.upper()} ({analysis.risk_score:.2f}){_decided_by(analysis)}",
        "",
    ]
    if analysis.flows:
        lines.append(f"Flows at risk ({len(analysis.flows)}):")
        for flow in analysis.flows[:20]:
            lines.append(
                f"  {flow.risk_score:.2f}  {flow.name}  [{flow.priority}]  confidence {flow.confidence:.2f}"
                f"{_traffic(flow)}  pages: {', '.join(flow.affected_pages)}"
            )
            lines += [f"        {_chain(reason)}  ({reason.kind}, {reason.route})" for reason in flow.reasons[:3]]
        if len(analysis.flows) > 20:
            lines.append(f"  …{_more(len(analysis.flows), 20)}")
        lines.append(_traffic_note(analysis))
    else:
        lines.append("Flows at risk: none" + ("" if analysis.affected_routes else " (no route is affected)"))
    lines.append("")
    routes = analysis.affected_routes
    lines.append(f"Affected routes ({len(routes)}):" if routes else "Affected routes: none")
    route_risks = {
        item.ref: item.risk for item in risk_inputs(analysis.flows, routes, analysis.files) if item.kind == "route"
    }
    for route in routes[:20]:
        first = route.reasons[0] if route.reasons else None
        why = f"{_chain(first)} ({first.kind}{'; ' + first.detail if first.detail else ''})" if first else ""
        extra = _more(len(route.files), 1) if route.files else ""
        risk = f"risk {route_risks[route.route]:.2f}  " if route.route in route_risks else ""
        lines.append(f"  {route.route}  {risk}distance {route.distance}  {why}{extra}")
    if len(routes) > 20:
        lines.append(f"  …{_more(len(routes), 20)}")
    lines.append("")
    lines.append(f"Changed files ({len(analysis.files)}):" if analysis.files else "Changed files: none")
    for change in analysis.files[:20]:
        path = f"{change.old_path} → {change.path}" if change.old_path else change.path
        lines.append(f"  {_STATUS_MARK.get(change.status, '~')} {path}{_symbols_note(change)}")
    if len(analysis.files) > 20:
        lines.append(f"  …{_more(len(analysis.files), 20)}")
    lines.append("")
    lines.append(_recommendation(analysis))
    return "\n".join(lines) + "\n"


def _symbols_note(change: ChangedFile) -> str:
    """Symbol-level impact: which exports a module's change touched, and how many files import them."""
    if change.symbols is None:
        return ""
    names = ", ".join(change.symbols[:5]) + (f" (+{len(change.symbols) - 5} more)" if len(change.symbols) > 5 else "")
    return f"  (exports changed: {names or 'none'}; imported by {plural(change.symbol_importers or 0, 'file')})"


def _decided_by(analysis: ChangeAnalysis) -> str:
    """How the overall risk was reached: the highest of the listed flows' and routes' risks."""
    explanation = explain(analysis.flows, analysis.affected_routes, analysis.files)
    inputs, top = explanation["inputs"], explanation["decidedBy"]
    if not isinstance(top, dict) or not isinstance(inputs, list):
        return ""
    what = f"flow {top['name']}" if top["type"] == "flow" else f"route {top['name']}"
    return f" = the highest of {plural(len(inputs), 'listed risk')}: {what} {top['riskScore']:.2f}"


def _recommendation(analysis: ChangeAnalysis) -> str:
    if not analysis.files:
        return "No changes found."
    if analysis.risk_level in ("critical", "high"):
        names = ", ".join(f.name for f in analysis.flows[:3]) or "the affected routes"
        return f"Recommendation: test {names} before merging."
    if analysis.flows:
        names = ", ".join(f.name for f in analysis.flows[:3])
        more = f" and {len(analysis.flows) - 3} more" if len(analysis.flows) > 3 else ""
        return f"Recommendation: check {names}{more} before merging."
    if analysis.affected_routes:
        return (
            "No known flow visits the affected routes; map the app's flows with `perceo init` "
            "(`perceo init --remote` for a project on the API)."
        )
    return "No route is affected by this change."


def _md(text: str) -> str:
    """Text safe inside a Markdown table cell or list item."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("`", "'").replace("\n", " ")


def _code(text: str) -> str:
    return f"`{_md(text)}`"


def render_markdown(analysis: ChangeAnalysis, *, project_name: str, working_tree: bool = False) -> str:
    """A report ready to post as a pull-request comment."""
    level = analysis.risk_level
    head = "working tree" if working_tree else _short(analysis.head_sha)
    out = [
        MARKDOWN_MARKER,
        f"## {_LEVEL_BADGE[level]} Perceo: {level} risk ({analysis.risk_score:.2f})",
        "",
        f"**{_md(project_name)}** · `{_short(analysis.base_sha)}...{head}` · "
        f"{plural(len(analysis.files), 'changed file')} · {plural(len(analysis.affected_routes), 'affected route')} · "
        f"{plural(len(analysis.flows), 'flow')} at risk",
        "",
    ]
    if analysis.flows:
        out += ["| Flow | Priority | Risk | Confidence | Affected pages |", "|---|---|---:|---:|---|"]
        for flow in analysis.flows[:50]:
            pages = ", ".join(_code(p) for p in flow.affected_pages[:5]) + _more(len(flow.affected_pages), 5)
            out.append(
                f"| {_md(flow.name)} | {flow.priority} | {flow.risk_score:.2f} | {flow.confidence:.2f} | {pages} |"
            )
        out += ["", _traffic_note(analysis).strip()]
        out += ["", "<details><summary>Why these flows</summary>", ""]
        for flow in analysis.flows[:50]:
            for reason in flow.reasons[:3]:
                chain = " → ".join(_code(f) for f in reason.chain)
                out.append(f"- **{_md(flow.name)}** ({_code(reason.route or '')}, {reason.kind}): {chain}")
        out += ["", "</details>", ""]
    elif analysis.affected_routes:
        out += ["No known flow visits the affected routes. Run `perceo init` to map this app's flows.", ""]
    else:
        out += ["No route is affected by this change.", ""]
    out += _markdown_routes(analysis.affected_routes)
    out += _markdown_changes(analysis.files)
    return "\n".join(out).rstrip() + "\n"


def _markdown_routes(routes: Sequence[AffectedRoute]) -> list[str]:
    if not routes:
        return []
    out = [f"<details><summary>Affected routes ({len(routes)})</summary>", ""]
    out += ["| Route | Distance | Why |", "|---|---:|---|"]
    for route in routes[:50]:
        first = route.reasons[0] if route.reasons else None
        why = (" → ".join(_code(f) for f in first.chain) + f" ({first.kind})") if first else ""
        out.append(f"| {_code(route.route)} | {route.distance} | {why}{_more(len(route.files), 1)} |")
    if len(routes) > 50:
        out.append(f"| …{_more(len(routes), 50)} | | |")
    return [*out, "", "</details>", ""]


def _markdown_changes(files: Sequence[ChangedFile]) -> list[str]:
    if not files:
        return []
    out = [f"<details><summary>Changed files ({len(files)})</summary>", ""]
    for change in files[:100]:
        path = f"{_code(change.old_path)} → {_code(change.path)}" if change.old_path else _code(change.path)
        out.append(f"- {change.status}: {path}")
    if len(files) > 100:
        out.append(f"- …{_more(len(files), 100)}")
    return [*out, "", "</details>", ""]


# Routes (`perceo routes`)


def routes_contract(discovery: DiscoveryResult) -> dict[str, Any]:
    """The `perceo routes --json` document (schemaVersion 1)."""
    return {
        "schemaVersion": ROUTES_SCHEMA_VERSION,
        "framework": discovery.framework,
        "apps": [{"root": a.root, "name": a.name, "framework": a.framework} for a in discovery.apps],
        "routes": [
            {
                "route": r.route,
                "kind": r.kind,
                "app": r.app,
                "framework": r.framework,
                "entryFiles": list(r.entry_files),
                "layoutFiles": list(r.layout_files),
                "hash": r.hash,
                "url": r.url,
            }
            for r in discovery.routes
        ],
        "navigation": [
            {
                "source": n.source,
                "target": n.target,
                "kind": n.kind,
                "file": n.file,
                "line": n.line,
                "hash": n.hash,
                "sourceUrl": route_url(n.source, n.hash),
                "targetUrl": route_url(n.target, n.hash),
            }
            for n in discovery.navigation
        ],
        "warnings": list(discovery.warnings),
    }


def route_url(route: str, hash_routing: bool) -> str:
    """A route's URL path in the browser: `/#/x` when its app routes in the URL's fragment."""
    return f"/#{route}" if hash_routing else route


def render_routes_text(discovery: DiscoveryResult) -> str:
    lines = [f"Framework: {discovery.framework}"]
    if len(discovery.apps) > 1:
        lines.append("Apps: " + ", ".join(f"{a.name} ({a.root or '.'}, {a.framework})" for a in discovery.apps))
    lines += ["", f"Routes ({len(discovery.routes)}):" if discovery.routes else "Routes: none found"]
    width = max((len(r.route) for r in discovery.routes), default=0)
    for route in discovery.routes:
        app = f"[{route.app}] " if route.app else ""
        kind = " (api)" if route.kind == "api" else ""
        hashed = f"  (url {route.url})" if route.hash else ""
        lines.append(f"  {route.route.ljust(width)}  {app}{', '.join(route.entry_files)}{kind}{hashed}")
        if route.layout_files:
            lines.append(f"  {''.ljust(width)}  layouts: {', '.join(route.layout_files)}")
    lines += ["", f"Navigation ({len(discovery.navigation)}):" if discovery.navigation else "Navigation: none found"]
    for edge in discovery.navigation:
        where = f"{edge.file}:{edge.line}" if edge.line else edge.file
        lines.append(f"  {edge.source} → {edge.target}  ({edge.kind}, {where})")
    for warning in discovery.warnings:
        lines.append(f"warning: {warning}")
    return "\n".join(lines) + "\n"
