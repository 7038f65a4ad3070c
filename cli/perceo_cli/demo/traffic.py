"""Synthetic production traffic for the demo shop: users walking its flows (the busiest first, each flow less
walked than the one before), some dropping off at a known step — the last step of the longest flow — so that
`perceo analytics status|impact` and `ci analyze` show real figures. Deterministic for a given `now`."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Sequence
from typing import Any

from perceo.models import FlowView

#: Users on the busiest flow; the next flows get fewer (divided by their rank).
BUSIEST_USERS = 60
#: Share of the longest flow's users who leave before its last step.
DROP_OFF_SHARE = 0.4
BATCH = 500
_PARAM = re.compile(r":\w+\??|\[\[?\.{0,3}\w+\]?\]")


def concrete_path(route: str, n: int) -> str:
    """A path a user visits for a route pattern: `/products/:id` or `/products/[id]` -> `/products/p7`."""
    return _PARAM.sub(f"p{n}", route)


def demo_events(flows: Sequence[FlowView], *, now: int, seed: int = 7) -> tuple[list[dict[str, Any]], str | None]:
    """Page views of users walking the flows over the last two hours; returns (events, the flow with a drop-off)."""
    rng = random.Random(seed)
    walkable = sorted((f for f in flows if len(f.pages) >= 2), key=lambda f: (-len(f.pages), f.name))
    dropping = walkable[0].name if walkable else None
    events: list[dict[str, Any]] = []
    start = now - 2 * 3_600_000
    for rank, flow in enumerate(walkable, start=1):
        users = max(3, BUSIEST_USERS // rank)
        for u in range(users):
            pages = flow.pages
            if flow.name == dropping and u < int(users * DROP_OFF_SHARE):
                pages = pages[:-1]
            t = start + rng.randrange(0, 90 * 60_000)
            for k, route in enumerate(pages):
                t += rng.randrange(4_000, 40_000)
                events.append(
                    {
                        "eventId": f"demo-{rank}-{u}-{k}",
                        "anonymousId": f"demo-visitor-{rank}-{u}",
                        "name": "page_view",
                        "path": concrete_path(route, rng.randrange(1, 50)),
                        "timestamp": t,
                    }
                )
    return events, dropping


def batches(events: Sequence[dict[str, Any]], size: int = BATCH) -> Iterator[dict[str, Any]]:
    for first in range(0, len(events), size):
        yield {"events": list(events[first : first + size])}
