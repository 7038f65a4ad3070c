"""Facts for every source file of a snapshot: from the cache when the blob was seen before, else parsed (in a
process pool when a cold run has many files)."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perceo.errors import PerceoError
from perceo.observer.facts.cache import FactCache
from perceo.observer.facts.model import FileFacts, fact_kind
from perceo.observer.facts.script import Extractor
from perceo.observer.filewarnings import content_problem, warn_file
from perceo.observer.snapshot import UnreadableFileError, unreadable_reason

logger = logging.getLogger(__name__)


@dataclass
class FactStats:
    """How a run obtained its facts (tests assert on `parsed`, never on timings)."""

    files: int = 0
    cached: int = 0
    parsed: int = 0
    #: the whole discovery result was reused (same tree content seen before): nothing was read or parsed.
    result_cached: bool = False
    #: of `cached`, found in the in-memory facts (`FactIndex.memory`) rather than the disk cache
    from_memory: int = 0


class FactIndex:
    """Facts for every source file of a snapshot, from the cache when the blob was seen before."""

    def __init__(
        self,
        cache_dir: Path | None = None,
        *,
        workers: int | None = None,
        memory: MutableMapping[str, FileFacts] | None = None,
    ) -> None:
        self.cache = FactCache(cache_dir)
        self.stats = FactStats()
        #: facts by key kept between runs in one process (`impactmemory.FactMemory`), looked at before the cache
        self.memory = memory
        self._extractor: Extractor | None = None
        self._workers = workers
        self._keys: set[str] = set()

    def extractor(self) -> Extractor:
        if self._extractor is None:
            self._extractor = thread_extractor()
        return self._extractor

    def collect(
        self, paths: Iterable[str], blob_sha: Callable[[str], str], read_bytes: Callable[[str], bytes]
    ) -> dict[str, FileFacts]:
        """Facts for every path that has a fact kind; parses only blobs missing from the cache."""
        keyed: list[tuple[str, str, str]] = []
        unreadable: list[str] = []
        for path in paths:
            kind = fact_kind(path)
            if kind is not None:
                try:
                    keyed.append((path, kind, f"{kind}:{blob_sha(path)}"))
                except OSError as exc:  # a working-tree file hashed from disk that cannot be read
                    if not isinstance(exc, UnreadableFileError):
                        warn_file(path, f"could not be read ({unreadable_reason(exc)}): its imports are unknown")
                    unreadable.append(path)
        self.stats.files += len(keyed)
        cached = self._cached({key for _path, _kind, key in keyed})
        result: dict[str, FileFacts] = {path: FileFacts() for path in unreadable}
        missing: list[tuple[str, str, str]] = []
        for path, kind, key in keyed:
            facts = cached.get(key)
            if facts is None:
                missing.append((path, kind, key))
            else:
                result[path] = facts
        self.stats.cached += len(keyed) - len(missing)
        if missing:
            for (path, _kind, key), facts in zip(missing, self._extract_all(missing, read_bytes), strict=True):
                if facts is None:  # unreadable, binary or an LFS pointer: no facts, a warning, nothing cached
                    result[path] = FileFacts()
                    continue
                self.cache.put(key, facts)
                if self.memory is not None:
                    self.memory[key] = facts
                result[path] = facts
                cached[key] = facts  # the same blob at two paths is parsed once per run
            self.stats.parsed += len(missing)
        self._keys.update(key for _path, _kind, key in keyed)
        return result

    def _cached(self, keys: set[str]) -> dict[str, FileFacts]:
        memory = self.memory
        if memory is None:
            return self.cache.get_many(keys)
        found = {key: memory[key] for key in keys if key in memory}
        self.stats.from_memory += len(found)
        rest = keys - found.keys() if found else keys
        if rest:
            loaded = self.cache.get_many(rest)
            for key, facts in loaded.items():
                memory[key] = facts
            found.update(loaded)
        return found

    def _extract_all(
        self, missing: list[tuple[str, str, str]], read_bytes: Callable[[str], bytes]
    ) -> list[FileFacts | None]:
        workers = self._workers if self._workers is not None else min(os.cpu_count() or 1, 8)
        if workers > 1 and len(missing) >= 2000 and "fork" in _start_methods():
            return _extract_parallel(missing, read_bytes, workers)
        extractor = self.extractor()
        out: list[FileFacts | None] = []
        for path, kind, _key in missing:
            data = read_source(read_bytes, path)
            out.append(None if data is None else _safe_extract(extractor, path, kind, data))
        return out

    def save(self, *, complete: bool = False) -> None:
        """Persist what was parsed. `complete` says every file of a snapshot was collected: the cache is then
        pruned down to those files' entries once it holds many more (older commits' files)."""
        self.cache.save()
        if complete:
            self.cache.prune(self._keys, limit=max(_PRUNE_FLOOR, 3 * len(self._keys)))
        self.cache.close()


_PRUNE_FLOOR = 50_000


def read_source(read_bytes: Callable[[str], bytes], path: str) -> bytes | None:
    """A source file's content, or None with a warning when it cannot be read (a blob a partial clone cannot fetch,
    a `git cat-file` failure, a file the user may not read) or is no source (an LFS pointer, binary data)."""
    try:
        data = read_bytes(path)
    except (PerceoError, OSError) as exc:
        if not isinstance(exc, UnreadableFileError):  # a snapshot has warned already
            warn_file(path, f"could not be read ({unreadable_reason(exc)}): its imports are unknown")
        return None
    problem = content_problem(data)
    if problem is not None:
        warn_file(path, problem)
        return None
    return data


def _safe_extract(extractor: Extractor, path: str, kind: str, data: bytes) -> FileFacts:
    try:
        return extractor.extract(kind, data)
    except (RecursionError, ValueError, UnicodeError) as exc:
        logger.warning("could not extract facts from %s: %s", path, exc)
        return FileFacts()


_worker_extractor: Extractor | None = None
_per_thread = threading.local()


def thread_extractor() -> Extractor:
    """This thread's extractor: parsers are not thread-safe, and compiled queries are worth keeping between runs."""
    extractor: Extractor | None = getattr(_per_thread, "extractor", None)
    if extractor is None:
        extractor = _per_thread.extractor = Extractor()
    return extractor


def _start_methods() -> list[str]:
    import multiprocessing

    return multiprocessing.get_all_start_methods()


def _worker_init() -> None:
    global _worker_extractor
    _worker_extractor = Extractor()


def _worker_extract(batch: list[tuple[str, str, bytes]]) -> list[list[Any]]:
    assert _worker_extractor is not None
    return [_safe_extract(_worker_extractor, path, kind, data).to_json() for path, kind, data in batch]


def _extract_parallel(
    missing: list[tuple[str, str, str]], read_bytes: Callable[[str], bytes], workers: int
) -> list[FileFacts | None]:
    """Cold runs on large repos: contents are read here (one git process) while a pool parses them."""
    import multiprocessing

    unreadable: set[str] = set()

    def batches() -> Iterator[list[tuple[str, str, bytes]]]:
        current: list[tuple[str, str, bytes]] = []
        for path, kind, _key in missing:
            data = read_source(read_bytes, path)
            if data is None:
                unreadable.add(path)
                continue
            current.append((path, kind, data))
            if len(current) >= 256:
                yield current
                current = []
        if current:
            yield current

    # `fork`: spawned or forkserver workers would re-import the caller's `__main__`, which a library cannot
    # require to be guarded. Workers only receive bytes; the pool is gone before the snapshot closes.
    context = multiprocessing.get_context("fork")
    with context.Pool(workers, initializer=_worker_init) as pool:
        results = list(pool.imap(_worker_extract, batches(), chunksize=1))
    parsed = iter([FileFacts.from_json(raw) for batch in results for raw in batch])
    return [None if path in unreadable else next(parsed) for path, _kind, _key in missing]
