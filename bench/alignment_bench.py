"""Session-to-flow alignment: 10,000 sessions (5-40 route tokens) against 50 flows (3-12 steps).

Ours: `perceo.analytics.alignment.FlowAligner.align`, the whole job (build the aligner, collapse identical
sessions, find match points, skip pairs that cannot reach minSimilarity 0.7, chain the rest, decide how far each
session walked each flow and which visits matched which steps).
Baseline, in the same run: parasail's striped Smith-Waterman with a query profile per flow
(`sw_striped_profile_16`, profile built once per flow, match +2 / mismatch -1 / linear gap 1 = open 1, extend 1),
scoring every one of the 500,000 pairs (score only). Before timing, the bench checks that our Smith-Waterman
scores (`FlowAligner.scores`, every pair, no prefilter) equal parasail's for every pair.

The traffic is synthetic but shaped like a shop's: 200 routes with Zipf popularity, flows starting at one of 8
entry pages, 65% of sessions walking a prefix of a (Zipf-popular) flow with stray pages in between and browsing
around it, the rest browsing; 5% of visits are pages no flow knows (token 0).

Targets: ours <= 1 s, ratio (parasail / ours) >= 2. Medians of `--runs` (ours) and `--parasail-runs` runs.

Run: .venv/bin/python bench/alignment_bench.py [--runs 5] [--parasail-runs 3] [--sessions 10000] [--flows 50]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import parasail

from perceo.analytics.alignment import FlowAligner

ROUTES = 200
ENTRY_PAGES = 8


def traffic(sessions: int, flows: int, seed: int = 7) -> tuple[list[list[int]], list[list[int]]]:
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, ROUTES + 1) ** 1.1
    popularity /= popularity.sum()
    entries = rng.choice(np.arange(1, ROUTES + 1), size=ENTRY_PAGES, replace=False, p=popularity)
    flow_tokens: list[list[int]] = []
    for _ in range(flows):
        length = int(rng.integers(3, 13))
        rest = rng.choice(np.arange(1, ROUTES + 1), size=length - 1, p=popularity)
        flow_tokens.append([int(rng.choice(entries)), *map(int, rest)])
    flow_popularity = 1.0 / np.arange(1, flows + 1)
    flow_popularity /= flow_popularity.sum()
    # a pool of browsing visits (5% unknown pages) drawn once, consumed in order
    pool = rng.choice(np.arange(1, ROUTES + 1), size=sessions * 60, p=popularity)
    pool[rng.random(len(pool)) < 0.05] = 0
    cursor = 0

    def browse(n: int) -> list[int]:
        nonlocal cursor
        cursor = (cursor + n) % (len(pool) - 64)
        return [int(t) for t in pool[cursor - n : cursor]] if cursor >= n else [int(t) for t in pool[:n]]

    out: list[list[int]] = []
    for _ in range(sessions):
        length = int(rng.integers(5, 41))
        visits: list[int] = []
        if rng.random() < 0.65:
            flow = flow_tokens[int(rng.choice(flows, p=flow_popularity))]
            visits += browse(int(rng.integers(0, max(1, length // 3))))
            for k, token in enumerate(flow):
                if k > 0 and rng.random() < 0.15:
                    break  # dropped off
                visits.append(token)
                while rng.random() < 0.15:
                    visits += browse(1)  # a stray page between steps
        if len(visits) < length:
            visits += browse(length - len(visits))
        out.append(visits[:length])
    return flow_tokens, out


def parasail_scores(
    flows: list[list[int]], sessions: list[list[int]], kernel: str = "sw_striped_profile_16"
) -> np.ndarray:
    parasail.set_case_sensitive(True)  # the binding folds case by default: distinct tokens must stay distinct
    alphabet = "".join(chr(33 + n) for n in range(ROUTES + 1))
    matrix = parasail.matrix_create(alphabet, 2, -1)
    encoded = ["".join(alphabet[t] for t in s) for s in sessions]
    scores = np.zeros((len(sessions), len(flows)), dtype=np.int64)
    align = getattr(parasail, kernel)
    for f, flow in enumerate(flows):
        profile = parasail.profile_create_16("".join(alphabet[t] for t in flow), matrix)
        column = scores[:, f]
        for u, session in enumerate(encoded):
            column[u] = align(profile, session, 1, 1).score
    return scores


def timed(function, runs: int) -> tuple[float, float, object]:  # type: ignore[no-untyped-def]
    """Median wall and CPU seconds of `runs` calls, and the last result (CPU time shows what a busy machine hides)."""
    walls, cpus, result = [], [], None
    for _ in range(runs):
        start, cpu = time.perf_counter(), time.process_time()
        result = function()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--parasail-runs", type=int, default=3)
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--flows", type=int, default=50)
    args = parser.parse_args()

    flows, sessions = traffic(args.sessions, args.flows)
    pairs = len(flows) * len(sessions)
    print(f"{len(sessions)} sessions ({len({tuple(s) for s in sessions})} distinct), {len(flows)} flows, {pairs} pairs")

    # Correctness first, against parasail's prefix-scan kernel (exact for every pair). Its striped kernel, timed
    # below, scores some pairs lower when gap open == gap extend (linear gaps); those pairs are counted, not hidden.
    reference = parasail_scores(flows, sessions, "sw_scan_profile_16")
    ours_scores = FlowAligner(flows).scores(sessions)
    differing = int((reference != ours_scores).sum())
    print(f"Smith-Waterman scores equal to parasail's (sw_scan_profile_16): {pairs - differing}/{pairs} pairs")
    if differing:
        raise SystemExit("scores differ from parasail: the bench result would mean nothing")
    striped = parasail_scores(flows, sessions)
    print(
        f"parasail sw_striped_profile_16 scores lower on {int((striped < reference).sum())} pairs, higher on "
        f"{int((striped > reference).sum())} (its striped kernel with open == extend)"
    )

    ours_s, ours_cpu, found = timed(lambda: FlowAligner(flows, min_similarity=0.7).align(sessions), args.runs)
    scores_s, _, _ = timed(lambda: FlowAligner(flows).scores(sessions), args.runs)
    parasail_s, parasail_cpu, _ = timed(lambda: parasail_scores(flows, sessions), args.parasail_runs)
    assert found is not None
    walked = len(found)  # type: ignore[arg-type]
    completed = int((found.reached == FlowAligner(flows).flow_lengths[found.flow]).sum())  # type: ignore[attr-defined]
    print(f"walked pairs: {walked} ({completed} completed) at minSimilarity 0.7")
    print(f"ours, every pair's score (no prefilter, no walk): {scores_s:.3f} s")
    print(f"CPU time: ours {ours_cpu:.3f} s, parasail {parasail_cpu:.3f} s, ratio {parasail_cpu / ours_cpu:.1f}")
    size = f"{len(sessions)}x{len(flows)}"
    print(f"alignment: {ours_s:.3f} s for {size}; parasail {parasail_s:.3f} s; ratio {parasail_s / ours_s:.1f}")


if __name__ == "__main__":
    main()
