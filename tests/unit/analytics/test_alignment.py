"""Smith-Waterman alignment of sessions to flows: hand-worked examples, a plain dynamic-programming reference on
random pairs, and parasail's exact kernel (a dev dependency) on the same scoring."""

from __future__ import annotations

import random

import numpy as np
import parasail
import pytest

from perceo.analytics.alignment import FlowAligner, Scoring, needed_score, similarity

MATCH, MISMATCH, GAP = 2, -1, 1


def reference(flow: list[int], session: list[int], *, min_similarity: float = 0.7, min_steps: int = 2):
    """Textbook Smith-Waterman (full matrix), plus per step the best alignment ending on a visit of that step."""
    rows, cols = len(flow), len(session)
    h = [[0] * (cols + 1) for _ in range(rows + 1)]
    best, ending = 0, [0] * rows
    for i in range(1, rows + 1):
        for j in range(1, cols + 1):
            same = flow[i - 1] == session[j - 1]
            diagonal = h[i - 1][j - 1] + (MATCH if same else MISMATCH)
            h[i][j] = max(0, diagonal, h[i - 1][j] - GAP, h[i][j - 1] - GAP)
            best = max(best, h[i][j])
            if same:
                ending[i - 1] = max(ending[i - 1], diagonal)
    reached = 0
    for k in range(min(min_steps, rows), rows + 1):
        if ending[k - 1] >= min_similarity * MATCH * k - 1e-9:
            reached = k
    return best, reached, ending[reached - 1] if reached else None


def walks(aligner: FlowAligner, sessions: list[list[int]]) -> dict[tuple[int, int], tuple[int, int, list[int]]]:
    found = aligner.align(sessions)
    return {
        (int(s), int(f)): (int(r), int(score), [int(p) for p in pos[: len(aligner.flows[int(f)])]])
        for s, f, r, score, pos in zip(
            found.session, found.flow, found.reached, found.score, found.positions, strict=True
        )
    }


# -- hand-worked examples (match +2, mismatch -1, gap 1; minSimilarity 0.7)


def test_a_session_walking_every_step_in_order_completes_the_flow() -> None:
    aligner = FlowAligner([[1, 2, 3]])

    assert aligner.scores([[1, 2, 3]]).tolist() == [[6]]
    assert walks(aligner, [[1, 2, 3]]) == {(0, 0): (3, 6, [0, 1, 2])}


def test_a_stray_page_between_steps_costs_one_gap_and_still_completes() -> None:
    # 1 2 [7] 3 4 5: five matches (10) minus one gap = 9 >= 0.7 x 2 x 5 = 7
    aligner = FlowAligner([[1, 2, 3, 4, 5]])
    session = [9, 1, 2, 7, 3, 4, 5]

    assert aligner.scores([session]).tolist() == [[9]]
    assert walks(aligner, [session]) == {(0, 0): (5, 9, [1, 2, 4, 5, 6])}
    assert similarity(9, 5) == pytest.approx(0.9)


def test_a_session_that_stops_after_three_of_five_steps_drops_off_at_step_four() -> None:
    aligner = FlowAligner([[1, 2, 3, 4, 5]])

    assert walks(aligner, [[1, 2, 3, 8]]) == {(0, 0): (3, 6, [0, 1, 2, -1, -1])}


def test_two_stray_pages_between_the_first_steps_of_a_short_flow_are_not_a_walk() -> None:
    # 1 [8 8] 2 3: best alignment ending on step 3 scores 4 < 4.2; ending on step 2 scores 2 < 2.8
    aligner = FlowAligner([[1, 2, 3]])

    assert aligner.scores([[1, 8, 8, 2, 3]]).tolist() == [[4]]
    assert walks(aligner, [[1, 8, 8, 2, 3]]) == {}


def test_steps_visited_in_the_wrong_order_are_not_a_walk() -> None:
    aligner = FlowAligner([[1, 2]])

    assert aligner.scores([[2, 1]]).tolist() == [[2]]
    assert walks(aligner, [[2, 1]]) == {}


def test_one_page_is_not_a_journey_but_a_one_step_flow_is_walked_by_its_page() -> None:
    aligner = FlowAligner([[1, 2, 3], [5]])

    assert walks(aligner, [[4, 1, 4], [4, 5]]) == {(1, 1): (1, 2, [1])}


def test_unknown_visits_never_match_and_identical_sessions_each_get_their_walk() -> None:
    aligner = FlowAligner([[1, 2]])

    found = walks(aligner, [[0, 1, 2], [1, 2], [0, 0, 0], [0, 1, 2]])

    assert found == {(0, 0): (2, 4, [1, 2]), (1, 0): (2, 4, [0, 1]), (3, 0): (2, 4, [1, 2])}


def test_a_lower_min_similarity_lets_noisier_sessions_walk() -> None:
    strict, lenient = FlowAligner([[1, 2, 3]]), FlowAligner([[1, 2, 3]], min_similarity=0.5)

    assert walks(strict, [[1, 8, 8, 2, 3]]) == {}
    # 0.5: ending on step 3 needs 3 (scores 4: steps 2 and 3 back to back; step 1 too far back to help)
    assert walks(lenient, [[1, 8, 8, 2, 3]]) == {(0, 0): (3, 4, [-1, 3, 4])}


def test_the_walk_is_traced_to_the_first_visit_of_its_last_step() -> None:
    aligner = FlowAligner([[1, 2]])

    assert walks(aligner, [[1, 2, 5, 2]]) == {(0, 0): (2, 4, [0, 1])}


def test_needed_score_and_similarity_agree() -> None:
    assert needed_score(2, 0.7) == 3 and needed_score(3, 0.7) == 5 and needed_score(10, 0.7) == 14
    assert similarity(14, 10) == pytest.approx(0.7) and similarity(-3, 2) == 0.0


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError):
        FlowAligner([[]])
    with pytest.raises(ValueError):
        FlowAligner([[0, 1]])
    with pytest.raises(ValueError):
        FlowAligner([[1]], min_similarity=0)
    with pytest.raises(ValueError):
        Scoring(match=2, mismatch=1)


# -- the reference on random pairs


@pytest.mark.parametrize("seed", range(3))
def test_scores_and_walks_equal_the_textbook_dynamic_programming(seed: int) -> None:
    rng = random.Random(seed)
    flows = [[rng.randrange(1, 12) for _ in range(rng.randrange(1, 9))] for _ in range(20)]
    sessions = [[rng.randrange(0, 14) for _ in range(rng.randrange(0, 50))] for _ in range(150)]
    sessions += [list(f) for f in flows]
    aligner = FlowAligner(flows)

    scores = aligner.scores(sessions)
    found = walks(aligner, sessions)

    for s, session in enumerate(sessions):
        for f, flow in enumerate(flows):
            best, reached, ending = reference(flow, session)
            assert scores[s, f] == best, (flow, session)
            if reached:
                got_reached, got_score, positions = found[(s, f)]
                assert (got_reached, got_score) == (reached, ending), (flow, session)
                # the traced visits are matches, in order, ending on the reached step, and they score `ending`
                matched = [(i, j) for i, j in enumerate(positions) if j >= 0]
                assert all(flow[i] == session[j] for i, j in matched)
                assert matched[-1][0] == reached - 1
                cost = sum(max(i - pi - 1, j - pj - 1) for (pi, pj), (i, j) in zip(matched, matched[1:], strict=False))
                assert MATCH * len(matched) - cost == ending
            else:
                assert (s, f) not in found


def test_scores_equal_parasails_exact_kernel_on_the_same_scoring() -> None:
    rng = random.Random(42)
    flows = [[rng.randrange(1, 30) for _ in range(rng.randrange(2, 13))] for _ in range(15)]
    sessions = [[rng.randrange(0, 30) for _ in range(rng.randrange(1, 41))] for _ in range(200)]
    parasail.set_case_sensitive(True)
    alphabet = "".join(chr(33 + n) for n in range(31))
    matrix = parasail.matrix_create(alphabet, MATCH, MISMATCH)

    def text(tokens: list[int]) -> str:
        return "".join(alphabet[t] for t in tokens)

    expected = np.array(
        [
            [
                parasail.sw_scan_profile_16(parasail.profile_create_16(text(f), matrix), text(s), GAP, GAP).score
                for f in flows
            ]
            for s in sessions
        ]
    )

    assert (FlowAligner(flows).scores(sessions) == expected).all()
