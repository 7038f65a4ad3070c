"""One composition root: `perceo.wiring` is the only place outside tests (and the benchmarks, which measure the
adapters themselves) that constructs a flow graph, an event bus, an LLM client or a Redis client, and the adapter
factories it calls are called from nowhere else. No module keeps a mutable singleton another package reaches into."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "layers" / "perceo" / "perceo"
WIRING = PACKAGE / "wiring.py"

#: Constructors of adapters (and of the Redis client they share), by the last parts of the called name.
ADAPTERS = {
    "FalkorFlowGraph", "Neo4jFlowGraph", "RedisBus", "InMemoryBus", "StructuredLLM", "Redis", "Redis.from_url",
    "PlaywrightSyntheticRunner", "RedisCluster", "RedisCluster.from_url", "open_redis",
}  # fmt: skip
#: The adapter-selection helpers: called by the composition root only.
FACTORIES = {"open_flow_graph", "open_event_bus", "open_llm"}
#: Where an adapter is made by its own selection helper (and nowhere else).
FACTORY_MODULES = {
    PACKAGE / "graph" / "factory.py": {"FalkorFlowGraph", "Neo4jFlowGraph"},
    PACKAGE / "bus" / "factory.py": {"InMemoryBus", "RedisBus", "open_redis"},
    PACKAGE / "redis_client.py": {"Redis.from_url", "RedisCluster.from_url"},
    PACKAGE / "llm" / "factory.py": {"StructuredLLM"},
}


def _runtime_sources() -> list[Path]:
    roots = [PACKAGE, REPO / "functions", REPO / "cli" / "perceo_cli"]
    return sorted(path for root in roots for path in root.rglob("*.py"))


def _called_names(path: Path) -> list[tuple[int, str]]:
    """(line, name) of every call by a plain or dotted name, as its last part and its last two parts:
    `X(...)` gives X; `redis.Redis.from_url(...)` gives from_url and Redis.from_url."""
    calls: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Name):
            calls.append((node.lineno, node.func.id))
        elif isinstance(node.func, ast.Attribute):
            calls.append((node.lineno, node.func.attr))
            owner = node.func.value
            owner_name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", None)
            if owner_name:
                calls.append((node.lineno, f"{owner_name}.{node.func.attr}"))
    return calls


def test_the_scan_finds_constructor_calls_and_ignores_text(tmp_path: Path) -> None:
    module = tmp_path / "probe.py"
    module.write_text(
        '"""RedisBus(client) in a docstring."""\nimport redis\nc = redis.Redis.from_url("x")\nb = RedisBus(c)\n'
    )

    assert [name for _, name in _called_names(module)] == ["from_url", "Redis.from_url", "RedisBus"]


@pytest.mark.parametrize("path", _runtime_sources(), ids=lambda p: str(p.relative_to(REPO)))
def test_only_the_composition_root_constructs_adapters(path: Path) -> None:
    if path == WIRING:
        return
    allowed = FACTORY_MODULES.get(path, set())
    made = [f"{line}: {name}()" for line, name in _called_names(path) if name in ADAPTERS - allowed]
    helpers = [f"{line}: {name}()" for line, name in _called_names(path) if name in FACTORIES]

    assert made == [], f"{path.relative_to(REPO)} constructs an adapter; get it from perceo.wiring"
    assert helpers == [], f"{path.relative_to(REPO)} calls an adapter factory; only perceo.wiring does"


def test_the_composition_root_does_construct_them() -> None:
    called = {name for _, name in _called_names(WIRING)}

    assert {"open_flow_graph", "open_event_bus", "open_llm", "RedisBus", "open_redis"} <= called


def _rebound_globals(path: Path) -> set[str]:
    """Module-level names a function of the module rebinds (`global x`): process-wide state."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return {name for node in ast.walk(tree) if isinstance(node, ast.Global) for name in node.names}


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)


def _imported_names(path: Path) -> set[tuple[str, str]]:
    """(module, name) of every `from module import name`, and (module, attribute) of `module.attribute` reads."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[tuple[str, str]] = set()
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {(node.module, alias.name) for alias in node.names}
            aliases |= {alias.asname or alias.name: f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            aliases |= {alias.asname or alias.name: alias.name for alias in node.names}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            found.add((aliases[node.value.id], node.attr))
    return found


def test_process_wide_state_stays_private_to_its_module_and_only_wiring_can_be_installed_into() -> None:
    """A global a module rebinds (a worker's parser, the current services) is never read or set from another
    module: the one process-wide holder others use is `perceo.wiring`, through its functions."""
    private = {(_module_name(path), name) for path in PACKAGE.rglob("*.py") for name in _rebound_globals(path)}
    sources = [*_runtime_sources(), *(REPO / "tests").rglob("*.py"), *(REPO / "bench").rglob("*.py")]
    reached = {(str(path.relative_to(REPO)), pair) for path in sources for pair in _imported_names(path) & private}

    assert ("perceo.wiring", "_current") in private
    assert reached == set()
    installers = {
        _module_name(path)
        for path in PACKAGE.rglob("*.py")
        for node in ast.parse(path.read_text(encoding="utf-8")).body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("install")
    }
    assert installers == {"perceo.wiring"}
