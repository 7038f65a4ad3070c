"""What the workflow steps work with: the bundle store, the progress store, the settings, and the graph, the bus
and the LLM built when a step first asks for them (`perceo.wiring` builds it; tests pass their own)."""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from perceo.bus.port import EventBus
    from perceo.graph.port import FlowGraph
    from perceo.llm.port import LLM
    from perceo.models.keys import ApiKey
    from perceo.workflows.bundle import BundleStore
    from perceo.workflows.credentials import GitCredentialSource
    from perceo.workflows.progress import ProgressStore
    from perceo.workflows.settings import WorkflowSettings


@dataclass
class StepRuntime:
    settings: WorkflowSettings
    bundles: BundleStore
    progress: ProgressStore
    graph_factory: Callable[[], FlowGraph]
    #: The public record of an API key by (project id, 12-character prefix); NotFoundError when there is none.
    key_lookup: Callable[[str, str], ApiKey]
    credentials: GitCredentialSource
    bus_factory: Callable[[], EventBus | None] = lambda: None
    #: None when no LLM is configured for this deployment.
    llm_factory: Callable[[], LLM | None] = lambda: None
    #: Where clones go (Lambda: /tmp).
    work_dir: Path = field(default_factory=lambda: Path(tempfile.gettempdir()))
    _graph: FlowGraph | None = field(default=None, init=False)
    _llm: Any = field(default=None, init=False)
    _llm_built: bool = field(default=False, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    @property
    def graph(self) -> FlowGraph:
        with self._lock:
            if self._graph is None:
                self._graph = self.graph_factory()
            return self._graph

    @property
    def bus(self) -> EventBus | None:
        return self.bus_factory()

    @property
    def llm(self) -> LLM | None:
        with self._lock:
            if not self._llm_built:
                self._llm = self.llm_factory()
                self._llm_built = True
            result: LLM | None = self._llm
            return result
