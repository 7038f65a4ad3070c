"""The LLM side of the bootstrap stages: build the prompts, ask, and check every answer against the code.

Model output is data: names and pages are validated against the discovered routes, never executed. A
unit that fails (after the LLM layer's retries and repair) raises `LLMError`; the stage records a warning
and falls back to the offline result for that unit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence

from perceo.bootstrap.context import ReadText, pack_code, pack_json_items, pack_lines
from perceo.bootstrap.heuristic import priority_for
from perceo.bootstrap.model import (
    FlowDraft,
    FlowsOutput,
    LLMFlow,
    PersonaDraft,
    PersonasOutput,
    PersonaSpec,
    RefineOutput,
    StepDraft,
    StepsOutput,
    infer_action_type,
)
from perceo.bootstrap.prompts import load_prompt
from perceo.bootstrap.routes import RouteGraph, ordered_unique, page_set_key
from perceo.bootstrap.safety import fence_text
from perceo.llm.model import LLMRequest
from perceo.llm.port import LLM
from perceo.models.entities import ExpectedState, StepAction

MAX_PAGES_PER_FLOW = 8
MAX_PERSONAS = 5
PROMPT_LIMIT = "bootstrap.promptTokenBudget"


class Notes:
    """Warnings and limits hit, collected by a stage, and how many of the model's items failed the facts."""

    def __init__(self) -> None:
        self.warnings: list[str] = []
        self.limits: list[str] = []
        #: Items of the model's answer dropped because the code does not have them (pages, flows, selectors).
        self.dropped: int = 0


def _user_persona_rule(user_personas: Sequence[PersonaSpec]) -> str:
    if not user_personas:
        return ""
    return (
        "- The team configured personas (listed in the request). Keep them, with their names exactly as given, "
        "and assign flows to them. Add a new persona only for flows none of them fits."
    )


def check_flows(
    flows: Sequence[LLMFlow], graph: RouteGraph, *, max_flows: int, notes: Notes, what: str
) -> list[FlowDraft]:
    """Keep the model's flows that visit at least two known pages; dedupe by page set; cap."""
    drafts: list[FlowDraft] = []
    seen_sets: set[tuple[str, ...]] = set()
    seen_names: set[str] = set()
    for flow in flows:
        name = " ".join(flow.name.split())[:200]
        if not name:
            continue
        pages: list[str] = []
        unknown: list[str] = []
        for page in flow.pages:
            route = graph.resolve(page.strip())
            if route is None:
                unknown.append(page)
            elif not pages or pages[-1] != route:
                pages.append(route)
        pages = ordered_unique(pages)[:MAX_PAGES_PER_FLOW]
        if unknown:
            notes.dropped += len(unknown)
            notes.warnings.append(f"{what}: flow '{name}' names pages that do not exist: {', '.join(unknown[:5])}")
        if len(pages) < 2:
            notes.dropped += 1
            notes.warnings.append(f"{what}: flow '{name}' dropped: it does not span two known pages")
            continue
        key = page_set_key(pages)
        if key in seen_sets or name.casefold() in seen_names:
            notes.warnings.append(f"{what}: flow '{name}' dropped: duplicate of another flow")
            continue
        seen_sets.add(key)
        seen_names.add(name.casefold())
        drafts.append(
            FlowDraft(
                name=name,
                description=flow.description.strip()[:2000],
                pages=pages,
                priority=flow.priority or priority_for(name, flow.description),
                connected_flows=[c for c in (flow.connected_flow_ids or []) if c.strip()],
            )
        )
    if len(drafts) > max_flows:
        notes.limits.append(f"bootstrap.maxFlows: the model proposed {len(drafts)} flows, kept the first {max_flows}")
        drafts = drafts[:max_flows]
    names = {d.name.casefold(): d.name for d in drafts}
    for draft in drafts:
        draft.connected_flows = ordered_unique(
            names[c.casefold()]
            for c in draft.connected_flows
            if c.casefold() in names and c.casefold() != draft.name.casefold()
        )
    return drafts


def identify_flows_llm(
    llm: LLM,
    *,
    project_id: str,
    framework: str,
    graph: RouteGraph,
    auth_snippets: Sequence[str],
    max_flows: int,
    prompt_budget: int,
    notes: Notes,
) -> list[FlowDraft]:
    route_lines = [
        f"{r.route}" + (f"  (files: {', '.join(r.entry_files[:2])})" if r.entry_files else "") for r in graph.routes
    ]
    nav_lines = sorted(f"{s} -> {t}" for s, t in graph.links)
    budget = prompt_budget // 2
    routes = pack_lines(route_lines, budget // 2 + budget // 4, what="routes", limit_name=PROMPT_LIMIT)
    nav = pack_lines(nav_lines, budget // 4, what="navigation edges", limit_name=PROMPT_LIMIT)
    auth = pack_lines(list(auth_snippets), budget // 4, what="snippets", limit_name=PROMPT_LIMIT)
    for packed, what in ((routes, "routes"), (nav, "navigation edges")):
        if packed.truncated:
            notes.limits.append(f"{PROMPT_LIMIT}: {len(packed.omitted)} {what} left out of the flows prompt")
    prompt = load_prompt("flows-from-graph").render(
        framework=framework,
        maxFlows=str(max_flows),
        routeList=routes.text,
        navigationGraph=nav.text,
        authSnippets=auth.text,
    )
    answer = llm.complete(LLMRequest(prompt.system, prompt.user, "flows_from_graph", project_id, "flows"), FlowsOutput)
    return check_flows(answer.flows, graph, max_flows=max_flows, notes=notes, what="flows")


def _persona_drafts_from_answer(
    personas: Sequence[PersonaDraft],
    flows: list[FlowDraft],
    flow_names_by_persona: dict[str, list[str]],
    user_personas: Sequence[PersonaSpec],
    notes: Notes,
    what: str,
) -> list[PersonaDraft]:
    """Apply the answer's persona → flow assignment to `flows` (in place); return the personas to store."""
    by_key = {f.name.casefold(): f for f in flows}
    users = {u.name.casefold(): u for u in user_personas}
    out: list[PersonaDraft] = []
    seen: set[str] = set()
    for persona in personas:
        key = persona.name.casefold()
        if key in seen:
            continue
        seen.add(key)
        user = users.get(key)
        stored = (
            PersonaDraft(
                name=user.name, description=user.description, behaviors=user.behaviors, source="user_configured"
            )
            if user
            else persona
        )
        if user is None and len([p for p in out if p.source == "auto_generated"]) >= MAX_PERSONAS:
            notes.limits.append(f"{what}: more than {MAX_PERSONAS} personas proposed; '{persona.name}' left out")
            continue
        out.append(stored)
        for flow_name in flow_names_by_persona.get(key, []):
            flow = by_key.get(flow_name.casefold())
            if flow is None:
                notes.warnings.append(f"{what}: persona '{persona.name}' names an unknown flow '{flow_name}'")
            elif stored.name not in flow.personas:
                flow.personas.append(stored.name)
    for spec in user_personas:
        if spec.name.casefold() not in seen:
            out.append(
                PersonaDraft(
                    name=spec.name, description=spec.description, behaviors=spec.behaviors, source="user_configured"
                )
            )
    orphans = [f for f in flows if not f.personas]
    if orphans and out:
        notes.warnings.append(
            f"{what}: no persona was given to {', '.join(f.name for f in orphans)}; assigned to '{out[0].name}'"
        )
        for flow in orphans:
            flow.personas.append(out[0].name)
    return out


def assign_personas_llm(
    llm: LLM,
    *,
    project_id: str,
    framework: str,
    flows: list[FlowDraft],
    user_personas: Sequence[PersonaSpec],
    auth_snippets: Sequence[str],
    prompt_budget: int,
    notes: Notes,
) -> list[PersonaDraft]:
    flow_lines = [f"- {f.name}: {f.description} (pages: {', '.join(f.pages)})" for f in flows]
    packed_flows = pack_lines(flow_lines, prompt_budget // 2, what="flows", limit_name=PROMPT_LIMIT)
    users = fence_text(
        "\n".join(json.dumps(u.model_dump(mode="json"), ensure_ascii=False) for u in user_personas) or "None"
    )
    auth = pack_lines(list(auth_snippets), prompt_budget // 4, what="snippets", limit_name=PROMPT_LIMIT)
    prompt = load_prompt("personas-assign").render(
        framework=framework,
        flowList=packed_flows.text,
        userPersonas=users,
        authSnippets=auth.text,
        userPersonaRule=_user_persona_rule(user_personas),
    )
    answer = llm.complete(
        LLMRequest(prompt.system, prompt.user, "personas_assign", project_id, "personas"), PersonasOutput
    )
    for flow in flows:
        flow.personas = []
    drafts = [
        PersonaDraft(
            name=" ".join(p.name.split())[:200] or "User",
            description=p.description,
            behaviors=[b for b in p.behaviors if b.strip()][:10],
        )
        for p in answer.personas
    ]
    assignment = {" ".join(p.name.split())[:200].casefold(): p.flow_names for p in answer.personas}
    return _persona_drafts_from_answer(drafts, flows, assignment, user_personas, notes, "personas")


def refine_llm(
    llm: LLM,
    *,
    project_id: str,
    framework: str,
    graph: RouteGraph,
    flows: list[FlowDraft],
    personas: list[PersonaDraft],
    user_personas: Sequence[PersonaSpec],
    max_flows: int,
    prompt_budget: int,
    notes: Notes,
) -> tuple[list[FlowDraft], list[PersonaDraft]]:
    flow_items = [
        {
            "name": f.name,
            "description": f.description,
            "pages": f.pages,
            "connectedFlowIds": f.connected_flows,
            "priority": f.priority,
        }
        for f in flows
    ]
    persona_items = [
        {
            "name": p.name,
            "description": p.description,
            "behaviors": p.behaviors,
            "flowNames": [f.name for f in flows if p.name in f.personas],
        }
        for p in personas
    ]
    flows_json, omitted_flows = pack_json_items(flow_items, prompt_budget // 2, what="flows", limit_name=PROMPT_LIMIT)
    personas_json, _ = pack_json_items(persona_items, prompt_budget // 4, what="personas", limit_name=PROMPT_LIMIT)
    if omitted_flows:
        notes.limits.append(
            f"bootstrap.promptTokenBudget: {len(omitted_flows)} flows not shown to the refine prompt (kept unchanged)"
        )
    prompt = load_prompt("personas-refine").render(
        framework=framework,
        maxFlows=str(max_flows),
        flowsJson=flows_json.text,
        personasJson=personas_json.text,
        userPersonaRule=_user_persona_rule(user_personas),
    )
    answer = llm.complete(LLMRequest(prompt.system, prompt.user, "personas_refine", project_id, "refine"), RefineOutput)
    refined = check_flows(answer.flows, graph, max_flows=max_flows, notes=notes, what="refine")
    if not refined:
        notes.warnings.append("refine: the model returned no usable flow; kept the flows from before refinement")
        return flows, personas
    refined_names = {r.name.casefold() for r in refined}
    kept_back = [flows[i] for i in omitted_flows if flows[i].name.casefold() not in refined_names]
    refined += [f.model_copy(update={"personas": []}) for f in kept_back]
    assignment = {p.name.casefold(): p.flow_names for p in answer.personas}
    for flow in kept_back:
        for persona in personas:
            if persona.name in flow.personas:
                assignment.setdefault(persona.name.casefold(), []).append(flow.name)
    drafts = [
        PersonaDraft(
            name=" ".join(p.name.split())[:200] or "User",
            description=p.description,
            behaviors=[b for b in p.behaviors if b.strip()][:10],
        )
        for p in answer.personas
    ]
    known = {d.name.casefold() for d in drafts}
    # Personas the refine prompt did not see (their flows were left out) stay with those flows.
    drafts += [p for p in personas if p.name.casefold() not in known and p.name.casefold() in assignment]
    out_personas = _persona_drafts_from_answer(drafts, refined, assignment, user_personas, notes, "refine")
    return refined[:max_flows], out_personas


def extract_steps_llm(
    llm: LLM,
    *,
    project_id: str,
    framework: str,
    flow_name: str,
    flow_description: str,
    pages: Sequence[str],
    files: Sequence[str],
    read_text: ReadText,
    max_steps: int,
    code_budget: int,
    notes: Notes,
) -> list[StepDraft]:
    packed = pack_code(files, read_text, code_budget, limit_name="bootstrap.codeTokenBudget")
    if packed.truncated:
        notes.limits.append(
            f"bootstrap.codeTokenBudget: {len(packed.omitted)} files left out of the steps prompt for '{flow_name}'"
        )
    if packed.secret_files:
        notes.warnings.append(
            f"steps:{flow_name}: secret files never sent to the LLM: {', '.join(packed.secret_files[:5])}"
        )
    if packed.redactions:
        notes.warnings.append(f"steps:{flow_name}: {packed.redactions} secret-looking strings redacted before sending")
    prompt = load_prompt("steps").render(
        framework=framework,
        flowName=fence_text(flow_name),
        flowDescription=fence_text(flow_description),
        flowPages=", ".join(pages),
        codeContext=packed.text,
        maxSteps=str(max_steps),
    )
    answer = llm.complete(
        LLMRequest(prompt.system, prompt.user, "steps_extraction", project_id, f"steps:{flow_name}"[:200]),
        StepsOutput,
    )
    return steps_from_answer(answer, flow_name=flow_name, max_steps=max_steps, notes=notes)


def steps_from_answer(answer: StepsOutput, *, flow_name: str, max_steps: int, notes: Notes) -> list[StepDraft]:
    """Typed, renumbered steps. Duplicate or missing step numbers never drop steps; order is the model's."""
    ordered = sorted(enumerate(answer.steps), key=lambda pair: (pair[1].step_number, pair[0]))
    drafts: list[StepDraft] = []
    for _, step in ordered:
        text = " ".join(step.action.split())
        if not text:
            continue
        selectors = [s for s in (step.selectors or []) if s.strip()]
        actions = [StepAction(type=a.type, target=a.target or None, value=a.value or None) for a in step.actions or []]
        if not actions:
            actions = [StepAction(type=infer_action_type(text), target=selectors[0] if selectors else None)]
        expected = ExpectedState(
            visible=selectors, text={"description": step.expected_state} if step.expected_state else {}
        )
        drafts.append(StepDraft(order=len(drafts) + 1, name=text[:200], actions=actions, expected_state=expected))
    if len(drafts) > max_steps:
        notes.limits.append(
            f"bootstrap.maxStepsPerFlow: '{flow_name}' had {len(drafts)} steps, kept the first {max_steps}"
        )
        drafts = drafts[:max_steps]
    return drafts


# --- the model's answer against the facts the code gives --------------------------------------------------

_QUOTED = re.compile(r"""["']([^"']+)["']""")
_ATTRIBUTE_VALUE = re.compile(r"""=\s*([^\]"'\s)]+)""")
_ID_OR_CLASS = re.compile(r"(?:^|[\s>+~])[#.]([A-Za-z_][\w-]*)")
_TEXT_ENGINE = re.compile(r"^(?:text|label|placeholder|role|testid|data-testid)\s*=\s*(.+)$", re.IGNORECASE)


def selector_tokens(selector: str) -> list[str]:
    """What must be written in the code for `selector` to exist: quoted names, attribute values, ids and classes,
    the text of `text=`/`label=` selectors; the selector itself when it has none of these (a tag, a bare word)."""
    text = selector.strip()
    engine = _TEXT_ENGINE.match(text)
    if engine is not None:
        value = engine.group(1).strip().strip("\"'")
        return [value] if value else []
    tokens = _QUOTED.findall(text) + _ATTRIBUTE_VALUE.findall(text) + _ID_OR_CLASS.findall(text)
    return [t.strip() for t in tokens if t.strip()] or [text]


def grounded(selector: str, code: str, known: set[str]) -> bool:
    """True when the selector was found by the offline reading of the page code, or everything it names is
    written in the code of the flow's files."""
    if selector in known:
        return True
    tokens = selector_tokens(selector)
    return bool(tokens) and all(token in code for token in tokens)


def ground_steps(
    steps: Sequence[StepDraft],
    *,
    code: str,
    known: set[str],
    resolve: Callable[[str], str | None],
    notes: Notes,
    what: str,
) -> list[StepDraft]:
    """The model's steps without what the code does not have: a `navigate` to a page that is not a route, a
    target or an expected selector that names nothing in the code. A step left without actions is dropped.
    Every drop is counted (`notes.dropped`) and the first few are named."""
    out: list[StepDraft] = []
    named: list[str] = []
    for step in steps:
        actions = []
        for action in step.actions:
            target = action.target
            if action.type == "navigate" and target is not None and not target.startswith(("http://", "https://")):
                ok = resolve(target.split("?")[0].split("#")[-1] or "/") is not None or resolve(target) is not None
            else:
                ok = target is None or grounded(target, code, known)
            if ok:
                actions.append(action)
            else:
                notes.dropped += 1
                named.append(target or action.type)
        visible = []
        for selector in step.expected_state.visible:
            if grounded(selector, code, known):
                visible.append(selector)
            else:
                notes.dropped += 1
                named.append(selector)
        if not actions:
            notes.dropped += 1
            continue
        expected = step.expected_state.model_copy(update={"visible": visible})
        out.append(step.model_copy(update={"order": len(out) + 1, "actions": actions, "expected_state": expected}))
    if named:
        shown = ", ".join(repr(n) for n in named[:5])
        notes.warnings.append(f"{what}: {len(named)} targets the code does not have were dropped ({shown})")
    return out
