"""Keeping the garbage collector's full passes short in long-lived processes.

CPython's oldest-generation collection walks every tracked object. A Lambda environment (or a local worker that
imports every handler, or the local cloud's gateway process with moto in it) holds 40,000–330,000 objects from
imports and start-up, all of them alive for the life of the process, so each full pass took 8–230 ms and landed on
whichever request happened to trigger it: that was the API's slow tail. `freeze_startup_heap` moves everything
alive at that moment into the permanent generation, which the collector never walks; objects created later are
collected as usual. Frozen objects that later become cyclic garbage are not reclaimed, so call it once start-up
is over (after imports, after the first request has built its clients), not per request.
"""

from __future__ import annotations

import gc

#: What the interpreter counts as frozen before anyone froze anything (CPython 3.12 starts at a few hundred).
_FROZEN_AT_START = gc.get_freeze_count()


def freeze_startup_heap() -> int:
    """Collect once, then freeze what survives; the number of objects now frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def freeze_startup_heap_once() -> bool:
    """`freeze_startup_heap` unless this process has frozen objects already; whether it froze now."""
    if gc.get_freeze_count() > _FROZEN_AT_START:
        return False
    freeze_startup_heap()
    return True
