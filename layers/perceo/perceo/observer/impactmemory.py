"""What a long-running analyser (`perceo watch`) keeps in memory between analyses of the same repository, so that
an analysis of the working tree costs what the edit costs.

- the base's impact graph, by commit and framework: read from the disk cache (or made) only when HEAD moves;
- per-file facts by blob key (`<kind>:<blob sha>`), a bounded map in front of the disk `FactCache`;
- the last route discovery of the head, with everything it read: its routes and auto-imports are reused while
  none of its inputs changed (`RouteRecord.reusable`), else discovery runs again and is recorded again.

Route discovery is a function of the tree's configuration signature, its apps, the set of listed paths, the lists
of route-config and tagged files, and the content of the files it (and the layout and resolver it uses) read:
their facts or their bytes, both keyed by blob SHA. A record lists every such file with its blob SHA, so reuse is
exact, never a guess: a discoverer that iterates over every file's facts makes the record unusable.

`ci analyze` passes no memory and behaves as before; a memory belongs to one repository and one thread.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from perceo.observer.facts.model import FileFacts
    from perceo.observer.impactgraph import ImpactGraph
    from perceo.observer.model import AppInfo, RouteEntry

#: Facts kept in memory (one entry is a few hundred bytes to a few kilobytes: 20,000 hold a large app's changes
#: and the files route discovery reads, far below the disk cache of every file).
FACTS_KEPT = 20_000


@dataclass
class MemoryStats:
    """What the memory saved (tests assert on these counts, never on timings)."""

    #: the base's graph was obtained from the disk cache, or made (HEAD moved, or the first analysis)
    base_loads: int = 0
    #: the base's graph came from memory
    base_reused: int = 0
    #: route discovery ran on the head
    routes_discovered: int = 0
    #: the head's routes were reused from the previous discovery (none of its inputs changed)
    routes_reused: int = 0
    #: per-file facts found in memory (not looked up in the disk cache)
    facts_from_memory: int = 0


class FactMemory(MutableMapping[str, "FileFacts"]):
    """Facts by blob key, the `limit` most recently used: a hit moves a key to the back, an insertion past the
    limit drops the oldest keys."""

    def __init__(self, limit: int = FACTS_KEPT) -> None:
        self.limit = limit
        self._entries: dict[str, FileFacts] = {}

    def __getitem__(self, key: str) -> FileFacts:
        value = self._entries.pop(key)
        self._entries[key] = value
        return value

    def __setitem__(self, key: str, value: FileFacts) -> None:
        self._entries.pop(key, None)
        self._entries[key] = value
        excess = len(self._entries) - self.limit
        if excess > 0:
            for stale in list(self._entries)[:excess]:
                del self._entries[stale]

    def __delitem__(self, key: str) -> None:
        del self._entries[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries


@dataclass(frozen=True)
class RouteRecord:
    """One route discovery of a tree, with all it depended on."""

    framework: str
    signature: str
    apps: list[AppInfo]
    route_config_files: list[str]
    tagged_files: list[str]
    #: every listed path of the tree
    paths: frozenset[str]
    #: path -> blob SHA (None: absent) of every file whose facts or bytes were read while the routes were found
    read: dict[str, str | None]
    routes: list[RouteEntry]
    auto_imports: dict[str, list[str]]

    def reusable(
        self,
        *,
        framework: str,
        signature: str,
        apps: list[AppInfo],
        route_config_files: list[str],
        tagged_files: list[str],
        listing: Mapping[str, str | None],
    ) -> bool:
        """True when discovery on this tree would read exactly what it read before, so find the same routes."""
        return (
            self.framework == framework
            and self.signature == signature
            and self.apps == apps
            and self.route_config_files == route_config_files
            and self.tagged_files == tagged_files
            and len(self.paths) == len(listing)
            and self.paths == listing.keys()
            and all(listing.get(path) == sha for path, sha in self.read.items())
        )


@dataclass
class ImpactMemory:
    """State kept between analyses of one repository's working tree (see the module docstring)."""

    facts: FactMemory = field(default_factory=FactMemory)
    stats: MemoryStats = field(default_factory=MemoryStats)
    _base_key: tuple[str, str] | None = None
    _base: ImpactGraph | None = None
    routes: RouteRecord | None = None

    def base(self, commit: str, framework: str) -> ImpactGraph | None:
        if self._base is not None and self._base_key == (commit, framework):
            self.stats.base_reused += 1
            return self._base
        return None

    def keep_base(self, commit: str, framework: str, graph: ImpactGraph) -> None:
        self._base_key, self._base = (commit, framework), graph

    def forget_base(self) -> None:
        self._base_key, self._base = None, None
