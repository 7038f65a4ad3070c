"""The facts cache: `FileFacts` keyed by `<kind>:<blob sha>` in one SQLite file under the cache folder."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import marshal
import sqlite3
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path

from perceo.observer.facts.model import FileFacts

logger = logging.getLogger(__name__)

#: Bumped whenever extraction changes, so older caches are rebuilt rather than trusted.
FACTS_VERSION = 8
CACHE_FILE_NAME = "facts-v2.sqlite"
#: The modules whose source decides what facts are extracted (see `cache_version`).
_EXTRACTION_MODULES = ("model.py", "markup.py", "script.py")


class FactCache:
    """Facts keyed by `<kind>:<blob sha>` in an SQLite file under the cache folder.

    SQLite gives what a large repository needs: a warm run that looks up a thousand changed files reads a
    thousand rows instead of the whole cache, writes are transactions (a crash never leaves a torn cache, two CI
    jobs can share one), and a full scan is one query. Values are `marshal` dumps of plain lists (marshal cannot
    run code, unlike pickle) and are checked for shape before use. A missing, unreadable, corrupt or
    other-version file is an empty cache (rebuilt); an entry of the wrong shape is parsed again.
    """

    def __init__(self, cache_dir: Path | None) -> None:
        self.path = cache_dir / CACHE_FILE_NAME if cache_dir is not None else None
        self._db: sqlite3.Connection | None = None
        self._opened = False
        self._added: dict[str, bytes] = {}

    def _connect(self) -> sqlite3.Connection | None:
        if self._opened:
            return self._db
        self._opened = True
        if self.path is None:
            return None
        for attempt in range(2):
            try:
                self._db = _open_store(self.path)
                return self._db
            except (sqlite3.Error, OSError) as exc:
                if attempt == 0 and isinstance(exc, sqlite3.DatabaseError) and self.path.exists():
                    logger.warning("rebuilding the unreadable facts cache %s: %s", self.path, exc)
                    self.path.unlink(missing_ok=True)
                    continue
                logger.warning("running without the facts cache %s: %s", self.path, exc)
        return None

    def get_many(self, keys: Collection[str]) -> dict[str, FileFacts]:
        """The cached facts of those keys that have a valid entry."""
        db = self._connect() if keys else None
        if db is None:
            return {}
        wanted = keys if isinstance(keys, (set, frozenset, dict)) else set(keys)
        found: dict[str, FileFacts] = {}
        try:
            if len(wanted) > _SCAN_ABOVE:
                rows: Iterable[tuple[str, bytes]] = db.execute("SELECT key, data FROM facts")
                pairs = ((key, data) for key, data in rows if key in wanted)
                found = _decode_rows(pairs)
            else:
                ordered = list(wanted)
                for start in range(0, len(ordered), _LOOKUP_CHUNK):
                    chunk = ordered[start : start + _LOOKUP_CHUNK]
                    marks = ",".join("?" * len(chunk))
                    found.update(_decode_rows(db.execute(f"SELECT key, data FROM facts WHERE key IN ({marks})", chunk)))
        except sqlite3.Error as exc:
            logger.warning("ignoring the unreadable facts cache %s: %s", self.path, exc)
            return {}
        return found

    def get(self, key: str) -> FileFacts | None:
        return self.get_many((key,)).get(key)

    def put(self, key: str, facts: FileFacts) -> None:
        if self.path is not None:
            self._added[key] = marshal.dumps(facts.to_json(), _MARSHAL_VERSION)

    @property
    def dirty(self) -> bool:
        return bool(self._added)

    def save(self) -> None:
        """Write what this run parsed, in one transaction."""
        if not self._added:
            return
        db = self._connect()
        if db is None:
            self._added.clear()
            return
        try:
            with _transaction(db):
                db.executemany("INSERT OR REPLACE INTO facts (key, data) VALUES (?, ?)", self._added.items())
        except sqlite3.Error as exc:
            logger.warning("could not write the facts cache %s: %s", self.path, exc)
        self._added.clear()

    def prune(self, keep: Collection[str], limit: int) -> None:
        """Above `limit` entries, drop every entry not in `keep` (the facts of the snapshot just read)."""
        db = self._connect()
        if db is None:
            return
        try:
            (count,) = db.execute("SELECT count(*) FROM facts").fetchone()
            if count <= limit:
                return
            with _transaction(db):
                db.execute("CREATE TEMP TABLE IF NOT EXISTS kept (key TEXT PRIMARY KEY) WITHOUT ROWID")
                db.execute("DELETE FROM kept")
                db.executemany("INSERT OR IGNORE INTO kept VALUES (?)", ((key,) for key in keep))
                db.execute("DELETE FROM facts WHERE key NOT IN (SELECT key FROM kept)")
        except sqlite3.Error as exc:
            logger.warning("could not prune the facts cache %s: %s", self.path, exc)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
        self._db = None
        self._opened = False


#: Above this many wanted keys one full scan beats keyed lookups.
_SCAN_ABOVE = 20_000
_LOOKUP_CHUNK = 500
_MARSHAL_VERSION = 4


def _open_store(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    try:
        db.execute("PRAGMA synchronous=OFF")  # a cache: a crash at worst loses entries, SQLite keeps it consistent
        db.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("CREATE TABLE IF NOT EXISTS facts (key TEXT PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID")
        row = db.execute("SELECT value FROM meta WHERE name = 'version'").fetchone()
        if row is None or row[0] != cache_version():
            with _transaction(db):  # another extractor wrote these entries: start over
                db.execute("DELETE FROM facts")
                db.execute("INSERT OR REPLACE INTO meta VALUES ('version', ?)", (cache_version(),))
    except BaseException:
        db.close()
        raise
    return db


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    """One transaction (the connection autocommits each statement otherwise: a journal per row)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _decode_rows(rows: Iterable[tuple[str, bytes]]) -> dict[str, FileFacts]:
    found: dict[str, FileFacts] = {}
    loads, from_json = marshal.loads, FileFacts.from_json
    for key, data in rows:
        try:
            found[key] = from_json(loads(data))
        except (ValueError, TypeError, EOFError):
            continue  # a damaged entry: the file is parsed again
    return found


@functools.cache
def cache_version() -> str:
    """FACTS_VERSION plus a fingerprint of the extraction modules' source: editing the extractor invalidates
    caches even when nobody remembers to bump the number."""
    digest = hashlib.sha256()
    try:
        for name in _EXTRACTION_MODULES:
            digest.update((Path(__file__).parent / name).read_bytes())
    except OSError:  # not on disk (zipped): the number alone
        return str(FACTS_VERSION)
    return f"{FACTS_VERSION}:{digest.hexdigest()[:16]}"
