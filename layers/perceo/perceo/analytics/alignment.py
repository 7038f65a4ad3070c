"""Smith-Waterman alignment of sessions (route tokens) to flows, for many sessions and flows at once.

Scoring (linear gaps): a flow step aligned to a visit of the same route scores `match` (+2); aligned to another
route, `mismatch` (-1); a flow step the session skipped, or a page the session visited in between, costs `gap` (1)
each. Scores never go below zero (local alignment: the alignment may start and end anywhere in the session and in
the flow). The Smith-Waterman score of a pair is the best score of any cell; `scores` returns it for every pair.

What a match means (per session and flow): the session *walked the flow up to step k* when an alignment that ends
on a visit of step k scores at least `min_similarity x match x k`, i.e. at least that share of walking steps 1..k
perfectly (0.7: seven steps in ten, or every step with a stray page between a few of them). `reached` is the
largest such k among k >= `min_steps` (2 by default: one page is not a journey; 1 for a one-step flow). The
session completed the flow when k is its last step, else it dropped off at step k + 1. So the rule for a whole
flow is the usual "similarity = score / (match x flow length) >= minSimilarity", with the alignment ending on a
visit of the flow's last step; shorter prefixes are what gives drop-off steps.

The kernel: per flow, the sessions are aligned together in numpy, laid out position-major (`(positions,
sessions)` int8 matrices, sessions bucketed by length), one flow step (a DP row) at a time; horizontal gaps
(stray pages) are a running max down the positions. Identical sessions are aligned once; a session is skipped
for a flow when it has fewer visits of the flow's pages than `min_similarity x min_steps` matches need (an
alignment with n matches scores at most n x match). The walked pairs are traced back on the stored DP rows to
know which visit matched which step. `bench/alignment_bench.py` checks the scores against parasail's and times
both.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]

#: Sessions of one length bucket are aligned in chunks of this many (a DP row then stays in the CPU cache).
_CHUNK = 8192
#: Session length buckets: a bucket's sessions are padded to its longest.
_LENGTH_BUCKETS = (8, 16, 24, 32, 48, 64, 96, 128, 256, 512, 1024, 4096)


@dataclass(frozen=True)
class Scoring:
    """Linear-gap Smith-Waterman scoring: `match` > 0, `mismatch` < 0, `gap` > 0 (a penalty per position)."""

    match: int = 2
    mismatch: int = -1
    gap: int = 1

    def __post_init__(self) -> None:
        if not (0 < self.match <= 8 and -8 <= self.mismatch < 0 and 0 < self.gap <= 8):
            raise ValueError("scoring needs 0 < match <= 8, -8 <= mismatch < 0 and 0 < gap <= 8")


@dataclass(frozen=True)
class Alignments:
    """Every (session, flow) pair that walked the flow, as parallel arrays (one row per pair)."""

    #: Index of the session in the sequence given to `align`.
    session: IntArray
    #: Index of the flow in the aligner's flows.
    flow: IntArray
    #: The last flow step (1-based) the session walked.
    reached: IntArray
    #: The score of the alignment that ends on step `reached`.
    score: IntArray
    #: (pairs, longest flow): the session position aligned to each flow step as a match, -1 for steps passed over.
    positions: IntArray

    def __len__(self) -> int:
        return len(self.session)


class FlowAligner:
    """Aligns token sequences (sessions) to a fixed set of flows (token sequences, tokens >= 1).

    Token 0, and any token no flow uses, never matches.
    """

    def __init__(
        self,
        flows: Sequence[Sequence[int]],
        *,
        min_similarity: float = 0.7,
        scoring: Scoring | None = None,
        min_steps: int = 2,
    ) -> None:
        if not 0.0 < min_similarity <= 1.0:
            raise ValueError("min_similarity must be in (0, 1]")
        if min_steps < 1:
            raise ValueError("min_steps must be at least 1")
        self.scoring = scoring or Scoring()
        self.min_similarity = min_similarity
        self.flows = [np.asarray(f, dtype=np.int64) for f in flows]
        if any(len(f) == 0 for f in self.flows):
            raise ValueError("every flow needs at least one token")
        if any(int(f.min()) < 1 for f in self.flows):
            raise ValueError("flow tokens start at 1 (0 is the token of a visit no flow knows)")
        self.flow_lengths = np.array([len(f) for f in self.flows], dtype=np.int64)
        self.max_flow_length = int(self.flow_lengths.max()) if self.flows else 0
        # int8 DP cells while every score fits (scores stay within [-2 * penalty, match * steps])
        self._cell = np.int8 if self.scoring.match * self.max_flow_length <= 100 else np.int16
        self._min_steps = [min(len(f), min_steps) for f in self.flows]
        # the fewest visits of its pages a session needs to walk a flow: n matches score at most n * match
        self._needed_visits = [max(1, math.ceil(min_similarity * k - 1e-9)) for k in self._min_steps]
        # the score an alignment ending on step k (1-based) needs, index k - 1
        self._threshold = [needed_score(k, min_similarity, self.scoring) for k in range(1, self.max_flow_length + 1)]
        # tokens renumbered 1..n over the flows' tokens (int16 cells compare faster); every other token is 0
        distinct = np.unique(np.concatenate(self.flows)) if self.flows else np.zeros(0, dtype=np.int64)
        if len(distinct) >= np.iinfo(np.int16).max:
            raise ValueError("the flows use too many distinct tokens")
        self._vocabulary = int(distinct.max()) + 1 if len(distinct) else 1
        self._compact = np.zeros(self._vocabulary, dtype=np.int16)
        self._compact[distinct] = np.arange(1, len(distinct) + 1, dtype=np.int16)
        self._distinct = len(distinct)
        # A walk with n >= 2 matches has two consecutive matches whose in-between costs at most
        # 2 x match x (1 - min_similarity) (its costs total at most n x match x (1 - min_similarity) over n - 1
        # stretches), so at most `reach` steps and visits apart: pairs with no such nearby pair of visits are skipped.
        cheapest = min(min(-self.scoring.mismatch, 2 * self.scoring.gap), self.scoring.gap)
        self._reach = int(math.floor(2 * self.scoring.match * (1 - min_similarity) / cheapest + 1e-9)) + 1
        self._one_match_walks = np.array(
            [needed_score(k, min_similarity, self.scoring) <= self.scoring.match for k in self._min_steps], dtype=bool
        )
        self._near_keys, self._near_flows = self._nearby_step_pairs()
        # flow tokens step-major, padded with -2 (never a visit's token): column f is flow f
        self._padded = np.full((self.max_flow_length, len(self.flows)), -2, dtype=np.int16)
        for f, flow in enumerate(self.flows):
            self._padded[: len(flow), f] = self._compact[flow]

    @property
    def flow_count(self) -> int:
        return len(self.flows)

    def align(self, sessions: Sequence[Sequence[int]]) -> Alignments:
        """The pairs that walked a flow (see the module docstring), for every session and flow."""
        unique, inverse = _unique_sequences(sessions)
        found = self._run(unique)
        # each unique sequence's pairs go to every session that has it
        members = np.argsort(inverse, kind="stable")
        counts = np.bincount(inverse, minlength=len(unique))
        starts = np.cumsum(counts) - counts
        per_pair = counts[found.session]
        pick = np.repeat(np.arange(len(found), dtype=np.int64), per_pair)
        within = np.arange(int(per_pair.sum()), dtype=np.int64) - np.repeat(np.cumsum(per_pair) - per_pair, per_pair)
        return Alignments(
            session=members[starts[found.session][pick] + within],
            flow=found.flow[pick],
            reached=found.reached[pick],
            score=found.score[pick],
            positions=found.positions[pick],
        )

    def scores(self, sessions: Sequence[Sequence[int]]) -> IntArray:
        """The Smith-Waterman score of every (session, flow) pair, shape (sessions, flows); nothing skipped."""
        unique, inverse = _unique_sequences(sessions)
        out = np.zeros((len(unique), self.flow_count), dtype=np.int64)
        for chunk in self._chunks(unique, prefilter=False):
            rows, _ = self._rows(chunk)
            out[chunk.session, chunk.flow] = rows.reshape(-1, rows.shape[-1]).max(axis=0)
        return out[inverse]

    # -- the kernel

    def _run(self, unique: list[tuple[int, ...]]) -> Alignments:
        parts = [self._walk(chunk) for chunk in self._chunks(unique, prefilter=True)]
        if not parts:
            empty = np.zeros(0, dtype=np.int64)
            return Alignments(empty, empty, empty, empty, np.zeros((0, self.max_flow_length), dtype=np.int64))
        return Alignments(
            session=np.concatenate([p.session for p in parts]),
            flow=np.concatenate([p.flow for p in parts]),
            reached=np.concatenate([p.reached for p in parts]),
            score=np.concatenate([p.score for p in parts]),
            positions=np.concatenate([p.positions for p in parts]),
        )

    def _nearby_step_pairs(self) -> tuple[IntArray, npt.NDArray[np.uint64]]:
        """(token a, token b) keys of flow steps at most `reach` apart (sorted), and per key the flows that have it
        as a bit mask (64 flows a word)."""
        width = self._distinct + 1
        words = max(1, (self.flow_count + 63) // 64)
        masks: dict[int, npt.NDArray[np.uint64]] = {}
        for f, flow in enumerate(self.flows):
            compact = self._compact[flow].astype(np.int64)
            for distance in range(1, self._reach + 1):
                for key in (compact[:-distance] * width + compact[distance:]).tolist():
                    mask = masks.setdefault(key, np.zeros(words, dtype=np.uint64))
                    mask[f // 64] |= np.uint64(1) << np.uint64(f % 64)
        keys = np.array(sorted(masks), dtype=np.int64)
        table = np.array([masks[k] for k in keys.tolist()], dtype=np.uint64).reshape(len(keys), words)
        return keys, table

    def _near(self, tokens: npt.NDArray[np.int16]) -> npt.NDArray[np.bool_]:
        """(sessions, flows): whether the session visits two steps of the flow at most `reach` apart, in order and
        at most `reach` visits apart."""
        width = self._distinct + 1
        positions, sessions = tokens.shape
        words = self._near_flows.shape[1]
        found = np.zeros((sessions, words), dtype=np.uint64)
        if len(self._near_keys):
            for distance in range(1, min(self._reach, positions - 1) + 1):
                a, b = tokens[:-distance].astype(np.int64), tokens[distance:].astype(np.int64)
                key = a * width + b
                slot = np.minimum(np.searchsorted(self._near_keys, key), len(self._near_keys) - 1)
                hit = (self._near_keys[slot] == key) & (a > 0) & (b > 0)
                masks = np.where(hit[..., None], self._near_flows[slot], np.uint64(0))
                found |= np.bitwise_or.reduce(masks, axis=0)
        bits = (found[:, :, None] >> np.arange(64, dtype=np.uint64)[None, None, :]) & np.uint64(1)
        return bits.reshape(sessions, words * 64)[:, : self.flow_count].astype(bool)

    def _chunks(self, unique: list[tuple[int, ...]], *, prefilter: bool) -> Iterator[_Chunk]:
        """The (session, flow) pairs to align, in chunks of pairs whose sessions have about the same length and
        whose flows have about the same number of steps (so little of a chunk's matrix is padding)."""
        # which flows use each compact token (row 0: padding and unknown visits, none)
        member = np.zeros((self._distinct + 1, self.flow_count), dtype=np.float32)
        for f, flow in enumerate(self.flows):
            member[self._compact[flow], f] = 1.0
        member[0] = 0.0
        needed = np.array(self._needed_visits, dtype=np.int64)
        groups = _length_groups(self.flow_lengths)
        for ids, raw in _buckets(unique):
            known = (raw > 0) & (raw < self._vocabulary)
            tokens = np.where(known, self._compact[np.where(known, raw, 0)], np.where(raw < 0, -1, 0)).astype(np.int16)
            lookup = np.maximum(tokens, 0)
            for start in range(0, len(ids), _CHUNK):
                # visits of each flow's pages per session: (sessions, flows), as visit counts per token x member
                part = lookup[:, start : start + _CHUNK]
                width = self._distinct + 1
                flat = part + (np.arange(part.shape[1], dtype=np.int64) * width)[None, :]
                counts = np.bincount(flat.ravel(), minlength=part.shape[1] * width).reshape(part.shape[1], width)
                visits = np.rint(counts.astype(np.float32) @ member).astype(np.int64)
                if prefilter:
                    enough = (visits >= needed[None, :]) & (self._near(part) | self._one_match_walks[None, :])
                else:
                    enough = np.ones_like(visits, dtype=bool)
                for flows in groups:
                    sessions, which = np.nonzero(enough[:, flows])
                    for first in range(0, len(sessions), _CHUNK):
                        picked = start + sessions[first : first + _CHUNK]
                        flow_ids = flows[which[first : first + _CHUNK]]
                        yield _Chunk(
                            session=ids[picked],
                            flow=flow_ids,
                            tokens=np.ascontiguousarray(tokens[:, picked]),
                            steps=self._padded[: int(self.flow_lengths[flows].max()), flow_ids],
                        )

    def _rows(self, chunk: _Chunk) -> tuple[npt.NDArray[np.signedinteger], IntArray]:
        """The DP of a chunk of pairs: rows (steps + 1, positions + 1, pairs) and, per step, the best score of an
        alignment ending on a visit of that step (steps, pairs; 0 when none). Padding never matches: sessions are
        padded with -1, flows with -2."""
        cell = self._cell
        match, mismatch, gap = cell(self.scoring.match), cell(self.scoring.mismatch), cell(self.scoring.gap)
        tokens, steps = chunk.tokens, chunk.steps
        positions, pairs = tokens.shape
        rows = np.zeros((len(steps) + 1, positions + 1, pairs), dtype=cell)
        ending = np.empty((len(steps), pairs), dtype=np.int64)
        diagonal = np.empty((positions, pairs), dtype=cell)
        ended = np.empty((positions, pairs), dtype=cell)
        same = np.empty((positions, pairs), dtype=bool)
        zero = np.zeros((positions, pairs), dtype=cell)
        shifted = np.empty(pairs, dtype=cell)
        # numpy's masked (`where=`) and array-scalar int8 paths are ~30x slower than plain array-array ones here
        for step in range(1, len(steps) + 1):
            previous, current = rows[step - 1], rows[step]
            np.equal(tokens, steps[step - 1][None, :], out=same)
            # diagonal: previous[j-1] + (match if same else mismatch)
            np.multiply(same, cell(match - mismatch), out=diagonal)
            np.add(diagonal, previous[:-1], out=diagonal)
            np.add(diagonal, mismatch, out=diagonal)
            # best alignment ending on a visit of this step: the diagonal where it matched (>= match), else 0
            np.multiply(diagonal, same, out=ended)
            ending[step - 1] = ended.max(axis=0) if positions else 0
            body = current[1:]
            np.subtract(previous[1:], gap, out=body)  # vertical: a flow step skipped
            np.maximum(body, diagonal, out=body)
            for j in range(1, positions + 1):  # horizontal: stray pages, a running max down the positions
                np.subtract(current[j - 1], gap, out=shifted)
                np.maximum(current[j], shifted, out=current[j])
            np.maximum(body, zero, out=body)
        return rows, ending

    def _walk(self, chunk: _Chunk) -> Alignments:
        """How far each pair of a chunk walked its flow, traced back to the visits that matched its steps."""
        rows, ending = self._rows(chunk)
        lengths = self.flow_lengths[chunk.flow]
        steps = np.arange(1, len(chunk.steps) + 1)[:, None]
        threshold = np.array(self._threshold[: len(chunk.steps)], dtype=np.int64)[:, None]
        minimum = np.array(self._min_steps, dtype=np.int64)[chunk.flow][None, :]
        walked = (ending >= threshold) & (steps >= minimum) & (steps <= lengths[None, :])
        reached = np.where(walked.any(axis=0), len(chunk.steps) - np.argmax(walked[::-1], axis=0), 0)
        chosen = np.flatnonzero(reached > 0)
        reached = reached[chosen]
        score = ending[reached - 1, chosen]
        positions = np.full((len(chosen), self.max_flow_length), -1, dtype=np.int64)
        if len(chosen):
            self._trace(rows, chunk, chosen, reached, score, positions)
        return Alignments(
            session=chunk.session[chosen],
            flow=chunk.flow[chosen],
            reached=reached.astype(np.int64),
            score=score.astype(np.int64),
            positions=positions,
        )

    def _trace(
        self,
        rows: npt.NDArray[np.signedinteger],
        chunk: _Chunk,
        chosen: IntArray,
        reached: IntArray,
        score: IntArray,
        positions: IntArray,
    ) -> None:
        """Fill `positions` with the visits the alignment of pair `chosen[n]` ending on step `reached[n]` (scoring
        `score[n]`) matched, following the DP rows back to where the alignment started."""
        match, mismatch, gap = self.scoring.match, self.scoring.mismatch, self.scoring.gap
        tokens, steps = chunk.tokens, chunk.steps
        n = len(chosen)
        pairs = np.arange(n)
        step = reached.copy()  # a DP row: 1-based flow step
        # the first visit of step `reached` an alignment of that score ends on
        same = tokens[:, chosen] == steps[step - 1, chosen][None, :]
        ends_here = same & (rows[step - 1, :-1, chosen].T.astype(np.int64) + match == score[None, :])
        column = np.argmax(ends_here, axis=0) + 1  # a DP column: 1-based position
        # that visit matched step `reached`; the alignment goes on from the diagonal cell (its score - match)
        positions[pairs, step - 1] = column - 1
        step -= 1
        column -= 1
        active = (score > match) & (step > 0) & (column > 0)
        for _ in range(len(steps) + len(tokens) + 1):
            live = pairs[active]
            if not len(live):
                break
            s, c, pair = step[live], column[live], chosen[live]
            here = rows[s, c, pair].astype(np.int64)
            diagonal = rows[s - 1, c - 1, pair].astype(np.int64)
            is_match = tokens[c - 1, pair] == steps[s - 1, pair]
            took_match = is_match & (diagonal + match == here)
            took_mismatch = ~is_match & (diagonal + mismatch == here)
            took_up = ~took_match & ~took_mismatch & (rows[s - 1, c, pair].astype(np.int64) - gap == here)
            positions[live[took_match], s[took_match] - 1] = c[took_match] - 1
            diagonal_move = took_match | took_mismatch
            step[live] = s - (diagonal_move | took_up)
            column[live] = c - (diagonal_move | ~took_up)
            # a local alignment starts where its score came from nothing (zero), or at the matrix's edge
            done = (here == 0) | (step[live] == 0) | (column[live] == 0)
            active[live[done]] = False


@dataclass(frozen=True)
class _Chunk:
    """Pairs aligned together: column n is session `session[n]` (tokens[:, n]) against flow `flow[n]` (steps[:, n])."""

    session: IntArray
    flow: IntArray
    tokens: npt.NDArray[np.int16]
    steps: npt.NDArray[np.int16]


def _length_groups(lengths: IntArray) -> list[IntArray]:
    """Flows grouped by number of steps (1-2, 3-4, 5-6, ...): a chunk's DP runs over its group's longest flow."""
    groups: dict[int, list[int]] = {}
    for f, n in enumerate(lengths.tolist()):
        groups.setdefault((n + 1) // 2, []).append(f)
    return [np.array(g, dtype=np.int64) for _, g in sorted(groups.items())]


def _buckets(unique: list[tuple[int, ...]]) -> list[tuple[IntArray, IntArray]]:
    """Sessions grouped by length: (their ids, their tokens position-major, padded with -1 to the bucket's length)."""
    lengths = np.fromiter((len(s) for s in unique), dtype=np.int64, count=len(unique))
    out: list[tuple[IntArray, IntArray]] = []
    low = 0
    for high in (*_LENGTH_BUCKETS, int(lengths.max(initial=0))):
        if high <= low:
            continue
        ids = np.flatnonzero((lengths > low) & (lengths <= high))
        low = high
        if not len(ids):
            continue
        width = int(lengths[ids].max())
        tokens = np.full((len(ids), width), -1, dtype=np.int64)
        for row, n in enumerate(ids):
            sequence = unique[n]
            tokens[row, : len(sequence)] = sequence
        out.append((ids, np.ascontiguousarray(tokens.T)))
    return out


def _unique_sequences(sessions: Sequence[Sequence[int]]) -> tuple[list[tuple[int, ...]], IntArray]:
    """The distinct sequences (each aligned once) and, per session, the index of its sequence."""
    index: dict[tuple[int, ...], int] = {}
    inverse = np.empty(len(sessions), dtype=np.int64)
    for n, sequence in enumerate(sessions):
        key = sequence if isinstance(sequence, tuple) else tuple(sequence)
        inverse[n] = index.setdefault(key, len(index))
    return list(index), inverse


def similarity(score: int, steps: int, scoring: Scoring | None = None) -> float:
    """An alignment's score as a share of walking `steps` flow steps perfectly (0..1)."""
    best = (scoring or Scoring()).match * steps
    return 0.0 if best <= 0 else max(0.0, min(1.0, score / best))


def needed_score(steps: int, min_similarity: float, scoring: Scoring | None = None) -> int:
    """The smallest integer score that walks `steps` steps at `min_similarity`."""
    return math.ceil(min_similarity * (scoring or Scoring()).match * steps - 1e-9)
