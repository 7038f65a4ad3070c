"""Route mapping (URL -> most specific discovered route) and the streaming sessionizer."""

from __future__ import annotations

import pytest

from perceo.analytics.model import TrackedEvent
from perceo.analytics.routes import RouteMapper, RouteTokens, path_of
from perceo.analytics.sessions import Sessionizer

MINUTE = 60_000
T0 = 1_773_100_000_000

ROUTES = ["/", "/article/new", "/article/:slug", "/blog/[...slug]", "/docs/:lang?/intro", "/cart"]


@pytest.mark.parametrize(
    ("url", "route"),
    [
        ("/article/abc", "/article/:slug"),
        ("https://site.test/article/new?x=1", "/article/new"),
        ("/article/abc/", "/article/:slug"),
        ("/blog/2024/05/hello", "/blog/[...slug]"),
        ("/docs/intro", "/docs/:lang?/intro"),
        ("/docs/fr/intro", "/docs/:lang?/intro"),
        ("/", "/"),
        ("/cart#summary", "/cart"),
        ("/pricing", None),
        ("/article", None),
    ],
)
def test_a_visited_url_maps_to_the_most_specific_route(url: str, route: str | None) -> None:
    path = path_of(url)
    assert path is not None
    assert RouteMapper(ROUTES).route_of(path) == route


def test_paths_drop_query_fragment_and_extra_slashes() -> None:
    assert path_of("https://x.test?q=/not/a/path") == "/"
    assert path_of("http://x.test:8080//a//b/?q") == "/a/b"
    assert path_of("not a url") is None and path_of("") is None


def test_route_tokens_are_stable_small_numbers_and_zero_is_unmapped() -> None:
    tokens = RouteTokens(["/a", "/b"])

    assert (tokens.token("/a"), tokens.token("/b"), tokens.token("/c"), tokens.token(None)) == (1, 2, 3, 0)
    assert tokens.route(3) == "/c" and tokens.route(0) is None


def view(
    user: str, minute: float, path: str | None, *, session: str | None = None, name: str = "page_view"
) -> TrackedEvent:
    return TrackedEvent(
        id=f"{user}-{minute}-{path}",
        source="ingest",
        name=name,
        timestamp=T0 + int(minute * MINUTE),
        anonymous_id=user,
        session_id=session,
        path=path,
        properties={"revenue": 30} if name == "purchase" else {},
    )


def sessionizer(**options: object) -> Sessionizer:
    return Sessionizer(RouteMapper(ROUTES), RouteTokens(ROUTES), **options)  # type: ignore[arg-type]


def routes_of(tokens: RouteTokens, ids: list[int]) -> list[str | None]:
    return [tokens.route(t) for t in ids]


def test_a_pause_longer_than_the_timeout_starts_a_new_session() -> None:
    s = sessionizer()
    events = [view("a", 0, "/"), view("a", 10, "/cart"), view("a", 45, "/"), view("a", 50, "/article/x")]

    sessions = list(s.feed(events))

    assert [routes_of(s.tokens, x.tokens) for x in sessions] == [["/", "/cart"], ["/", "/article/:slug"]]
    assert sessions[0].times == [T0, T0 + 10 * MINUTE] and sessions[0].end == T0 + 10 * MINUTE


def test_the_timeout_is_configurable() -> None:
    s = sessionizer(timeout_ms=5 * MINUTE)

    assert len(list(s.feed([view("a", 0, "/"), view("a", 6, "/cart")]))) == 2


def test_another_session_id_starts_a_new_session_and_users_never_mix() -> None:
    s = sessionizer()
    events = [view("a", 0, "/", session="s1"), view("b", 1, "/cart"), view("a", 2, "/cart", session="s2")]

    sessions = sorted(s.feed(events), key=lambda x: (x.user, x.start))

    assert [(x.user, routes_of(s.tokens, x.tokens)) for x in sessions] == [
        ("a", ["/"]),
        ("a", ["/cart"]),
        ("b", ["/cart"]),
    ]


def test_reloads_collapse_unmapped_views_count_and_other_events_only_count() -> None:
    s = sessionizer(revenue_property="revenue")
    events = [
        view("a", 0, "/"),
        view("a", 1, "/"),
        view("a", 2, "/pricing"),
        view("a", 3, "/cart"),
        view("a", 4, None, name="purchase"),
        view("a", 5, "/cart"),
    ]

    (session,) = s.feed(events)

    assert routes_of(s.tokens, session.tokens) == ["/", None, "/cart"]
    assert (session.events, session.page_views, session.unmapped, session.revenue) == (6, 5, 1, 30.0)
    assert (s.counts.page_views, s.counts.unmapped_page_views) == (5, 1)


def test_events_a_little_out_of_order_are_sorted_within_their_session() -> None:
    s = sessionizer()

    (session,) = s.feed([view("a", 0, "/"), view("a", 3, "/article/x"), view("a", 2, "/cart")])

    assert routes_of(s.tokens, session.tokens) == ["/", "/cart", "/article/:slug"]


def test_idle_sessions_close_as_the_stream_moves_on_so_memory_stays_bounded() -> None:
    s = sessionizer()
    open_counts = []
    closed = 0
    # 5,000 users, each a 2-visit session, spread over 40 hours
    for n in range(5000):
        for k in range(2):
            closed += len(s.add(view(f"u{n}", n * 0.5 + k * 0.1, "/")))
        open_counts.append(len(s._open))

    assert closed + len(s.flush()) == 5000
    # users active within timeout + lateness (an hour: ~120 here) plus the users of one expiry interval (256 events)
    assert max(open_counts) < 120 + 256 // 2 + 10


def test_an_event_without_a_user_is_counted_not_sessioned() -> None:
    s = sessionizer()
    anonymous = TrackedEvent(id="x", source="mixpanel", name="page_view", timestamp=T0, path="/")

    assert list(s.feed([anonymous])) == [] and s.counts.anonymous == 1


def test_the_compiled_route_lookup_picks_what_checking_every_pattern_picks() -> None:
    import random

    from perceo.analytics.routes import RouteMapper, _specificity
    from perceo.observer.routematch import routes_match

    routes = ["/", "/a", "/a/:id", "/a/new", "/:x/:y", "/a/:id/edit", "/:x/b/:z", "/b/[slug]", "/c/[...rest]"]
    routes += ["/:lang?/d", "/a/:id/:tab", "/e/{id}", "/f/<int:id>", "/g/$id", "/h.x/:id"]
    mapper = RouteMapper(routes)
    rng = random.Random(7)
    words = ["a", "b", "c", "d", "e", "f", "g", "h.x", "hxx", "new", "edit", "1", "(", "é"]  # no "*": a wildcard there
    matched = 0
    for _ in range(5000):
        path = "/" + "/".join(rng.choice(words) for _ in range(rng.randrange(0, 5)))
        every = [r for r in routes if routes_match(r, path)]
        expected = min(every, key=_specificity) if every else None

        assert mapper.route_of(path) == expected, path
        matched += expected is not None
    assert 1000 < matched < 5000  # both kinds of answer were checked
