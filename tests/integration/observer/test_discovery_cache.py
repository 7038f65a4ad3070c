"""The per-file facts cache: warm runs parse nothing unchanged, and the cache is never trusted blindly."""

from __future__ import annotations

import marshal
import shutil
import sqlite3
from pathlib import Path

from apps import build_nextjs_app, build_react_router_app, git, git_commit_all

from perceo.observer.discovery import FactStats, discover
from perceo.observer.facts.cache import CACHE_FILE_NAME
from perceo.observer.model import DiscoveryResult
from perceo.observer.snapshot import RepoSnapshot


def _drop_results(cache: Path) -> None:
    shutil.rmtree(cache / "results")


def _entries(cache: Path) -> dict[str, bytes]:
    with sqlite3.connect(cache / CACHE_FILE_NAME) as db:
        return dict(db.execute("SELECT key, data FROM facts"))


def _run(root: Path, cache: Path | None, ref: str = "HEAD") -> tuple[DiscoveryResult, FactStats]:
    stats = FactStats()
    with RepoSnapshot.at_ref(root, ref) as snapshot:
        return discover(snapshot, cache_dir=cache, stats=stats), stats


def test_second_run_parses_nothing_and_gives_the_same_result(tmp_path: Path) -> None:
    repo, cache = tmp_path / "repo", tmp_path / "cache"
    build_nextjs_app(repo)
    git_commit_all(repo)

    cold, cold_stats = _run(repo, cache)
    warm, warm_stats = _run(repo, cache)

    assert cold_stats.parsed == cold_stats.files > 20 and not cold_stats.result_cached
    assert warm_stats.parsed == 0
    assert warm_stats.result_cached  # the same tree again: the whole result is reused
    assert warm == cold


def test_facts_are_reused_when_the_result_cache_is_gone(tmp_path: Path) -> None:
    repo, cache = tmp_path / "repo", tmp_path / "cache"
    build_nextjs_app(repo)
    git_commit_all(repo)
    cold, cold_stats = _run(repo, cache)
    for result_file in (cache / "results").iterdir():
        result_file.unlink()

    warm, warm_stats = _run(repo, cache)
    assert not warm_stats.result_cached
    assert warm_stats.parsed == 0 and warm_stats.cached == cold_stats.files
    assert warm == cold


def test_a_corrupt_cached_result_is_recomputed(tmp_path: Path) -> None:
    repo, cache = tmp_path / "repo", tmp_path / "cache"
    build_react_router_app(repo)
    git_commit_all(repo)
    cold, _ = _run(repo, cache)
    (result_file,) = (cache / "results").iterdir()
    result_file.write_text('{"framework": "nextjs", "routes": "not a list"}')

    again, stats = _run(repo, cache)
    assert not stats.result_cached and again == cold
    assert _run(repo, cache)[1].result_cached  # rewritten


def test_only_changed_files_are_parsed_again(tmp_path: Path) -> None:
    repo, cache = tmp_path / "repo", tmp_path / "cache"
    build_nextjs_app(repo)
    git_commit_all(repo)
    _run(repo, cache)

    page = repo / "src/app/dashboard/page.tsx"
    page.write_text(page.read_text().replace('href="/settings"', 'href="/cart"'))
    git_commit_all(repo, "dashboard links to the cart")
    result, stats = _run(repo, cache)

    assert stats.parsed == 1
    own = {(e.source, e.target) for e in result.navigation if not e.from_layout}
    assert ("/dashboard", "/cart") in own and ("/dashboard", "/settings") not in own


def test_working_tree_edits_are_seen_without_committing(tmp_path: Path) -> None:
    repo, cache = tmp_path / "repo", tmp_path / "cache"
    build_react_router_app(repo)
    git_commit_all(repo)
    _run(repo, cache)

    (repo / "src/pages/Cart.tsx").write_text(
        'import { Link } from "react-router-dom";\n'
        'export default function Cart() { return <Link to="/">Home</Link>; }\n'
    )
    stats = FactStats()
    result = discover(RepoSnapshot.working_tree(repo), cache_dir=cache, stats=stats)

    assert stats.parsed == 1
    cart_targets = {e.target for e in result.navigation if e.source == "/cart" and not e.from_layout}
    assert cart_targets == {"/"}


def test_a_corrupt_cache_file_is_rebuilt(tmp_path: Path) -> None:
    repo, cache = tmp_path / "repo", tmp_path / "cache"
    build_nextjs_app(repo)
    git_commit_all(repo)
    cold, _ = _run(repo, cache)

    (cache / CACHE_FILE_NAME).write_bytes(b"\x00garbage, not an SQLite file" * 100)
    _drop_results(cache)
    rebuilt, stats = _run(repo, cache)
    assert stats.parsed == stats.files
    assert rebuilt == cold

    _drop_results(cache)
    again, stats = _run(repo, cache)
    assert stats.parsed == 0 and again == cold


def test_a_cache_entry_of_the_wrong_shape_is_reparsed_not_trusted(tmp_path: Path) -> None:
    repo, cache = tmp_path / "repo", tmp_path / "cache"
    build_nextjs_app(repo)
    git_commit_all(repo)
    cold, _ = _run(repo, cache)

    key = next(iter(_entries(cache)))
    with sqlite3.connect(cache / CACHE_FILE_NAME) as db:
        db.execute("UPDATE facts SET data = ? WHERE key = ?", (marshal.dumps(["not", "facts"]), key))
        other = next(k for k in _entries(cache) if k != key)
        db.execute("UPDATE facts SET data = ? WHERE key = ?", (b"\xff\x00torn", other))
    _drop_results(cache)

    result, stats = _run(repo, cache)
    assert stats.parsed == 2
    assert result == cold


def test_a_deleted_cache_folder_is_recreated(tmp_path: Path) -> None:
    repo, cache = tmp_path / "repo", tmp_path / "deep" / "cache"
    build_react_router_app(repo)
    git_commit_all(repo)
    _run(repo, cache)
    shutil.rmtree(cache)

    _result, stats = _run(repo, cache)
    assert stats.parsed == stats.files
    assert (cache / CACHE_FILE_NAME).is_file()


def test_after_checking_out_another_commit_the_warm_result_equals_a_cold_run(tmp_path: Path) -> None:
    repo, cache = tmp_path / "repo", tmp_path / "cache"
    build_nextjs_app(repo)
    first = git_commit_all(repo, "first")
    (repo / "src/app/cart/page.tsx").write_text(
        'import Link from "next/link";\nexport default function Cart() { return <Link href="/">Home</Link>; }\n'
    )
    (repo / "src/app/wishlist/page.tsx").parent.mkdir(parents=True)
    (repo / "src/app/wishlist/page.tsx").write_text("export default function Wishlist() { return null; }\n")
    git_commit_all(repo, "second")
    _run(repo, cache)  # warm the cache on the second commit

    git(repo, "checkout", "-q", first)
    warm, warm_stats = _run(repo, cache)
    cold, _ = _run(repo, None)

    assert warm == cold
    assert "/wishlist" not in {r.route for r in warm.routes}
    assert warm_stats.parsed == 1  # only the first commit's cart page was not in the cache yet


def test_new_facts_are_added_next_to_the_others_and_read_back(tmp_path: Path) -> None:
    repo, cache = tmp_path / "repo", tmp_path / "cache"
    build_nextjs_app(repo)
    git_commit_all(repo)
    _run(repo, cache)
    before = _entries(cache)

    page = repo / "src/app/cart/page.tsx"
    page.write_text(page.read_text() + "\nexport const revalidate = 60;\n")
    git_commit_all(repo, "cart revalidates")
    _, stats = _run(repo, cache)
    after = _entries(cache)
    assert stats.parsed == 1
    assert len(after) == len(before) + 1 and after.items() >= before.items()  # one entry more, none rewritten

    _drop_results(cache)
    _, stats = _run(repo, cache)
    assert stats.parsed == 0


def test_a_cache_written_by_another_extractor_version_is_emptied_not_trusted(tmp_path: Path) -> None:
    repo, cache = tmp_path / "repo", tmp_path / "cache"
    build_nextjs_app(repo)
    git_commit_all(repo)
    cold, _ = _run(repo, cache)
    with sqlite3.connect(cache / CACHE_FILE_NAME) as db:
        db.execute("UPDATE meta SET value = 'an older extractor' WHERE name = 'version'")
    _drop_results(cache)

    result, stats = _run(repo, cache)
    assert stats.parsed == stats.files
    assert result == cold


def test_a_new_file_that_changes_how_an_unchanged_import_resolves_is_noticed(tmp_path: Path) -> None:
    repo, cache = tmp_path / "repo", tmp_path / "cache"
    build_react_router_app(repo)
    git_commit_all(repo)
    first, _ = _run(repo, cache)
    assert "src/pages/products/index.ts" in first.imports["src/App.tsx"]

    # `./pages/products` now names this file before the folder's index (App.tsx itself is unchanged)
    (repo / "src/pages/products.tsx").write_text(
        "export function ProductList() { return null; }\nexport default function ProductDetail() { return null; }\n"
    )
    git_commit_all(repo, "products module next to the folder")
    warm, stats = _run(repo, cache)
    cold, _ = _run(repo, None)

    assert stats.parsed == 1
    assert warm == cold
    assert "src/pages/products.tsx" in warm.imports["src/App.tsx"]


def test_unchanged_files_keep_their_resolved_imports_across_commits(tmp_path: Path) -> None:
    repo, cache = tmp_path / "repo", tmp_path / "cache"
    build_nextjs_app(repo)
    git_commit_all(repo)
    _run(repo, cache)
    page = repo / "src/app/cart/page.tsx"
    hero = 'import { Hero } from "../_components/Hero";'
    page.write_text(
        page.read_text().replace(
            'import { useCart } from "@/lib/cart";', 'import { useCart } from "@/lib/cart";\n' + hero
        )
    )
    git_commit_all(repo, "cart shows the hero")

    warm, _ = _run(repo, cache)
    cold, _ = _run(repo, None)
    assert warm == cold
    assert "src/app/_components/Hero.tsx" in warm.imports["src/app/cart/page.tsx"]
