"""Flow quality: the offline bootstrap (`perceo init --no-llm`) on the real apps of `../shared/corpus`, measured
against the journeys a tester lists for each app (`tests/corpus/<owner>+<name>/journeys.yaml`).

Per app it clones the bundle into a temporary folder, runs the bootstrap's stages in this process without a store
(discover, flows, personas, steps for every flow: what `init --no-llm` computes before it writes), and prints:

- journeys: the share of labelled journeys matched by a flow. A flow matches a journey when its route sequence
  aligns with the journey's at similarity >= 0.7, the rule production analytics uses for sessions (Smith-Waterman,
  match +2, mismatch -1, gap 1; similarity = best score / (2 x journey length)). Route parameters compare
  equal whatever their names (`:id`, `[postId]`, `$id`, `*`). A missed journey whose routes discovery did not all
  find is counted as a discovery miss (shown apart: the flows cannot visit pages nobody found).
- selectors: the share of step selectors (action targets and `expectedState.visible`) found in the markup of
  the flow's pages, checked here against the source on its own terms (an attribute written with that value on
  an element, a role's element with that name, a text in the page); steps marked `confidence: low` are counted
  apart (they name no selector).
- error-asserting: flows whose checks expect an error state (an error message, an error page).

Last line: `flows: journeys <r>; selectors <s>; error-asserting <n>`.

    .venv/bin/python bench/flows_quality.py [--corpus ../shared/corpus] [--apps tonehunt,taxonomy] [--json]
        [--max-flows N] [--verbose]
"""

from __future__ import annotations

import argparse
import html
import json
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from perceo.bootstrap.pipeline import (
    BootstrapDeps,
    BootstrapInput,
    BootstrapLimits,
    BootstrapState,
    StepResult,
    assign_personas,
    discover,
    extract_steps,
    identify_flows,
    plan_step_tasks,
    refine,
    validate,
)

REPO = Path(__file__).resolve().parent.parent
LABELS = REPO / "tests" / "corpus"
MIN_SIMILARITY = 0.7
MATCH, MISMATCH, GAP = 2, -1, 1
#: How deep the checker follows imports from a page's files (the components it renders).
IMPORT_DEPTH = 3

_PARAM = re.compile(r"^(:|\*|\[|\$|_\$|\{|<|\.\.\.)")
_ERROR_TEXT = re.compile(
    r"\b(error|errors|invalid|incorrect|wrong|failed|failure|denied|unauthori[sz]ed|forbidden|not found|"
    r"unknown|expired|went wrong)\b",
    re.I,
)
_ERROR_ROUTE = re.compile(r"^/(?:.*/)?(?:404|500|401|403|503|error|not-found|_error)$")
_UI_SUFFIXES = (".tsx", ".jsx", ".vue", ".svelte", ".html", ".astro", ".ts", ".js")


# --- journeys ------------------------------------------------------------------------------------------------


def normalize_route(route: str) -> str:
    """`/patients/:id/visits/[visitId]` -> `/patients/:/visits/:` (parameters compare equal by position)."""
    route = route.split("#", 1)[-1] if route.startswith("/#") else route
    parts = [":" if _PARAM.match(s) or s.endswith("*") else s.casefold() for s in route.split("/") if s]
    return "/" + "/".join(parts)


def similarity(flow: list[str], journey: list[str]) -> float:
    """Best local alignment score of `flow` against `journey`, as a share of walking the journey perfectly."""
    rows, cols = len(journey), len(flow)
    if rows == 0 or cols == 0:
        return 0.0
    best = 0
    prev = [0] * (cols + 1)
    for i in range(1, rows + 1):
        cur = [0] * (cols + 1)
        for j in range(1, cols + 1):
            diag = prev[j - 1] + (MATCH if journey[i - 1] == flow[j - 1] else MISMATCH)
            cur[j] = max(0, diag, prev[j] - GAP, cur[j - 1] - GAP)
            best = max(best, cur[j])
        prev = cur
    return min(1.0, best / (MATCH * rows))


# --- selectors -----------------------------------------------------------------------------------------------


def _value_pattern(value: str, prefix: bool = False) -> str:
    body = re.escape(value)
    tail = "" if prefix else r"(?=[\"'`}\s])"
    return r"""\s*=\s*\{?\s*[\"'`]""" + body + tail


_ATTR_ALIASES = {
    # A link's rendered href comes from these attributes of router link components.
    "href": ("href", "to", ":to", "routerLink", r"\[routerLink\]", ":href"),
}
_ROLE_TAGS = {
    "button": r"<(?:button|Button|[\w.-]*Button)\b|role=[\"']button|type=[\"'](?:submit|button)",
    "link": r"<(?:a|Link|NuxtLink|RouterLink|router-link|nuxt-link)\b",
    "textbox": r"<(?:input|textarea|Input|Textarea|TextArea|TextField|[\w.-]*Input)\b",
    "checkbox": r"type=[\"']checkbox|<(?:Checkbox|[\w.-]*Checkbox)\b|role=[\"']checkbox",
    "radio": r"type=[\"']radio|<(?:Radio|[\w.-]*Radio)\b|role=[\"']radio",
    "heading": r"<(?:h[1-6]|[\w.-]*(?:Title|Heading))\b|role=[\"']heading",
    "combobox": r"<(?:select|Select|[\w.-]*Select)\b|role=[\"']combobox",
}


#: Elements whose text is their accessible name: open-tag pattern per role.
_ELEMENT_TAGS = {
    "button": r"(?:button|[\w.]*Button|[a-z]+-button)",
    "link": r"(?:a|Link|NuxtLink|RouterLink|router-link|nuxt-link)",
    "heading": r"(?:h[1-6])",
}
_LABEL_TAGS = r"(?:label|Label|FormLabel|mat-label)"
_FIELD_ROLES = frozenset({"textbox", "checkbox", "radio", "combobox"})


def _inside_element(text: str, needle: str, tag: str) -> bool:
    """True when `needle` occurs between an opening `<tag ...>` and its closing `</tag>` (the element's text)."""
    opening = re.compile(r"<" + tag + r"(?=[\s/>])")
    closing = re.compile(r"</" + tag + r"\s*>")
    lowered, wanted = text.casefold(), needle.casefold()
    start = lowered.find(wanted)
    while start >= 0:
        before = text[max(0, start - 2000) : start]
        opens = [m.start() for m in opening.finditer(before)]
        closes = [m.start() for m in closing.finditer(before)]
        if opens and (not closes or opens[-1] > closes[-1]):
            return True
        start = lowered.find(wanted, start + 1)
    return False


def _quoted(text: str) -> str:
    return text.replace('\\"', '"')


def selector_found(selector: str, sources: list[str]) -> bool:
    """True when the markup in `sources` holds an element `selector` would find (checked on the source text)."""
    # The page shows entities decoded (`Don&apos;t` reads "Don't").
    text = html.unescape("\n".join(sources))
    selector = selector.strip()
    match = re.fullmatch(r'role=(\w+)(?:\[name=(?:"(.*)"|/(.*)/)i?\])?', selector)
    if match:
        role = match.group(1)
        # `[name=/Project/]`: a name with a dynamic part, matched on its written part (regex escapes undone).
        name = match.group(2) if match.group(3) is None else re.sub(r"\\(.)", r"\1", match.group(3))
        tags = _ROLE_TAGS.get(role)
        if tags is None or not re.search(tags, text):
            return False
        if name is None:
            return True
        name = _quoted(name)
        if _ELEMENT_TAGS.get(role) and _inside_element(text, name, _ELEMENT_TAGS[role]):
            return True
        # A field's name is its label (`<label>`, `aria-label`, a form library's label bound to it); any
        # element's `aria-label` names it too.
        if re.search(r"aria-label\s*=\s*\{?[\"'`]" + re.escape(name), text):
            return True
        return role in _FIELD_ROLES and _inside_element(text, name, _LABEL_TAGS)
    match = re.fullmatch(r'text="(.*)"', selector) or re.fullmatch(r"text=(.*)", selector)
    if match:
        return _quoted(match.group(1)).casefold() in _text_only(text).casefold()
    match = re.fullmatch(r'(\w*):has-text\("(.*)"\)', selector)
    if match:
        tag, label = match.group(1) or "button", _quoted(match.group(2))
        tags = _ROLE_TAGS["button"] if tag == "button" else rf"<{tag}\b"
        return bool(re.search(tags, text)) and label.casefold() in _text_only(text).casefold()
    match = re.fullmatch(r"#([\w:-]+)", selector)
    if match:
        return bool(re.search(r"\bid" + _value_pattern(match.group(1)), text))
    match = re.fullmatch(r'([\w-]*)\[([\w:.\[\]()-]+)(\^?)="(.*)"\]', selector)
    if match:
        tag, attr, prefix, value = match.group(1), match.group(2), bool(match.group(3)), _quoted(match.group(4))
        names = _ATTR_ALIASES.get(attr, (re.escape(attr),))
        # HTML attribute names are case-insensitive (`formControlName` renders as `formcontrolname`).
        found = any(re.search(r"(?<![\w-])" + name + _value_pattern(value, prefix), text, re.I) for name in names)
        if not found and attr == "name":
            # react-hook-form: `register('title')` gives the field `name="title"` (spread on it or handed to an
            # input component that spreads it).
            found = bool(re.search(r"""\bregister\(\s*["'`]""" + re.escape(value) + r"""["'`]""", text))
        if not found and attr == "href" and value.startswith("/"):
            # Hash routing renders `href="#/x"` for a link written `to="/x"`.
            found = any(re.search(r"(?<![\w-])" + n + _value_pattern(value.lstrip("#"), prefix), text) for n in names)
        if found and tag and tag not in ("a", "input"):
            found = bool(re.search(rf"<{tag}\b", text, re.I))
        return found
    return False


def _text_only(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def selectors_of(steps: list[dict[str, Any]]) -> tuple[list[str], int]:
    """The selectors the steps use (action targets, expected visible), and how many actions say `low`."""
    found: list[str] = []
    low = 0
    for step in steps:
        for action in step.get("actions", []):
            if action.get("options", {}).get("confidence") == "low":
                low += 1
                continue
            target = action.get("target")
            if action["type"] in ("navigate", "screenshot") or not target or target == "url":
                continue
            found.append(target)
        found += step.get("expectedState", {}).get("visible", [])
    return found, low


def asserts_error(flow_pages: list[str], steps: list[dict[str, Any]]) -> bool:
    if any(_ERROR_ROUTE.match(normalize_route(p)) for p in flow_pages[-1:]):
        return True
    for step in steps:
        expected = step.get("expectedState", {})
        texts = [*expected.get("visible", []), *expected.get("text", {}).values()]
        for action in step.get("actions", []):
            if action["type"] == "assert":
                texts += [action.get("target") or "", action.get("value") or ""]
        if any(_ERROR_TEXT.search(t) for t in texts):
            return True
    return False


# --- one app -------------------------------------------------------------------------------------------------


@dataclass
class AppFigures:
    app: str
    framework: str = ""
    routes: int = 0
    flows: int = 0
    personas: list[str] = field(default_factory=list)
    journeys: int = 0
    matched: int = 0
    discovery_misses: int = 0
    missed: list[str] = field(default_factory=list)
    selectors: int = 0
    selectors_found: int = 0
    unfound: list[str] = field(default_factory=list)
    low_confidence: int = 0
    error_asserting: list[str] = field(default_factory=list)
    seconds: float = 0.0
    error: str = ""


def _closure(files: list[str], imports: dict[str, list[str]]) -> list[str]:
    seen = list(files)
    frontier = list(files)
    for _ in range(IMPORT_DEPTH):
        nxt = [d for f in frontier for d in imports.get(f, []) if d not in seen and d.endswith(_UI_SUFFIXES)]
        nxt = list(dict.fromkeys(nxt))
        seen += nxt
        frontier = nxt
    return seen


def run_offline(workspace: Path, max_flows: int | None = None) -> tuple[BootstrapState, list[StepResult]]:
    """What `perceo init --no-llm` computes before it writes: flows, personas and every flow's steps."""
    deps = BootstrapDeps(graph=None)
    limits = BootstrapLimits() if max_flows is None else BootstrapLimits(max_flows=max_flows)
    try:
        state = validate(BootstrapInput(project_id="bench", workspace=str(workspace), limits=limits), deps)
        for stage in (discover, identify_flows, assign_personas, refine):
            state = stage(state, deps)
        tasks = plan_step_tasks(state, {f.name: f"flow-{i}" for i, f in enumerate(state.flows)})
        results = [extract_steps(task, deps) for task in tasks]
    finally:
        deps.close()
    return state, results


def measure_app(app: str, clone: Path, labels: dict[str, Any], max_flows: int | None = None) -> AppFigures:
    figures = AppFigures(app=app)
    started = time.perf_counter()
    state, results = run_offline(clone, max_flows)
    figures.seconds = round(time.perf_counter() - started, 2)
    assert state.discovery is not None
    discovered = {normalize_route(r.route) for r in state.discovery.routes if r.kind == "page"}
    figures.framework, figures.routes = state.framework, len(discovered)
    figures.flows = len(state.flows)
    figures.personas = [f"{p.name} ({sum(p.name in f.personas for f in state.flows)} flows)" for p in state.personas]
    flow_routes = [[normalize_route(p) for p in f.pages] for f in state.flows]
    for journey in labels["journeys"]:
        figures.journeys += 1
        routes = [normalize_route(r) for r in journey["routes"]]
        if any(similarity(f, routes) >= MIN_SIMILARITY for f in flow_routes):
            figures.matched += 1
            continue
        cause = "discovery" if not set(routes) <= discovered else "flows"
        figures.discovery_misses += cause == "discovery"
        figures.missed.append(f"{journey['name']} ({cause})")
    entries = {r.route: r for r in state.discovery.routes}
    by_name = {f.name: f for f in state.flows}
    for result in results:
        flow = by_name[result.flow_name]
        steps = [s.model_dump(mode="json", by_alias=True) for s in result.steps]
        files = [f for p in flow.pages if p in entries for f in entries[p].files]
        sources = [(clone / f).read_text(errors="replace") for f in _closure(files, state.discovery.imports)]
        selectors, low = selectors_of(steps)
        figures.low_confidence += low
        for selector in selectors:
            figures.selectors += 1
            if selector_found(selector, sources):
                figures.selectors_found += 1
            else:
                figures.unfound.append(f"{flow.name}: {selector}")
        if asserts_error(flow.pages, steps):
            figures.error_asserting.append(flow.name)
    return figures


def clone_bundle(bundle: Path, into: Path) -> Path:
    command = ["git", "-c", "advice.detachedHead=false", "clone", "-q", str(bundle), str(into)]
    subprocess.run(command, check=True, timeout=120)
    shallow = bundle.with_suffix(".shallow")
    if shallow.is_file():
        (into / ".git" / "shallow").write_bytes(shallow.read_bytes())
    return into


def _share(part: int, whole: int) -> float:
    return round(part / whole, 2) if whole else 1.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    parser.add_argument("--labels", type=Path, default=LABELS)
    parser.add_argument("--apps", default="", help="comma-separated parts of app names (default: every labelled app)")
    parser.add_argument("--json", action="store_true", help="one JSON document instead of text")
    parser.add_argument(
        "--max-flows", type=int, default=None, help="bootstrap.maxFlows for every app (default: the product's)"
    )
    parser.add_argument("--verbose", action="store_true", help="list missed journeys and unfound selectors")
    args = parser.parse_args(argv)
    wanted = [w for w in args.apps.split(",") if w]
    apps = sorted(p.parent.name for p in args.labels.glob("*/journeys.yaml"))
    apps = [a for a in apps if not wanted or any(w in a for w in wanted)]
    if not apps:
        print("no labelled app matches", file=sys.stderr)
        return 2
    out: list[AppFigures] = []
    with tempfile.TemporaryDirectory(prefix="perceo-flows-quality-") as tmp:
        for app in apps:
            bundle = args.corpus / f"{app}.bundle"
            if not bundle.is_file():
                print(f"{bundle}: no such bundle", file=sys.stderr)
                return 2
            labels = yaml.safe_load((args.labels / app / "journeys.yaml").read_text())
            clone = clone_bundle(bundle, Path(tmp) / app)
            figures = measure_app(app, clone, labels, args.max_flows)
            out.append(figures)
            if not args.json:
                _print_app(figures, verbose=args.verbose)
    journeys = _share(sum(f.matched for f in out), sum(f.journeys for f in out))
    selectors = _share(sum(f.selectors_found for f in out), sum(f.selectors for f in out))
    errors = sum(len(f.error_asserting) for f in out)
    if args.json:
        summary = {"journeys": journeys, "selectors": selectors, "errorAsserting": errors}
        print(json.dumps({"apps": [asdict(f) for f in out], "summary": summary}, indent=1))
    else:
        found = sum(f.matched for f in out)
        total = sum(f.journeys for f in out)
        disc = sum(f.discovery_misses for f in out)
        reachable = total - disc
        print(
            f"all: journeys {found}/{total}; missed for discovery {disc}; "
            f"journeys whose routes discovery finds {found}/{reachable} ({_share(found, reachable)}); "
            f"low-confidence actions {sum(f.low_confidence for f in out)}"
        )
        print(f"flows: journeys {journeys}; selectors {selectors}; error-asserting {errors}")
    return 0


def _print_app(f: AppFigures, *, verbose: bool) -> None:
    print(
        f"{f.app} [{f.framework}, {f.routes} routes, {f.flows} flows, {f.seconds}s]: "
        f"journeys {f.matched}/{f.journeys} ({_share(f.matched, f.journeys)}; {f.discovery_misses} missed for "
        f"discovery); selectors {f.selectors_found}/{f.selectors} ({_share(f.selectors_found, f.selectors)}); "
        f"low-confidence {f.low_confidence}; error-asserting {len(f.error_asserting)}"
    )
    print(f"  personas: {', '.join(f.personas) or '-'}")
    if verbose:
        for miss in f.missed:
            print(f"  missed: {miss}")
        for sel in f.unfound:
            print(f"  unfound: {sel}")
        for name in f.error_asserting:
            print(f"  error-asserting: {name}")


if __name__ == "__main__":
    raise SystemExit(main())
