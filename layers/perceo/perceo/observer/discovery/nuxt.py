"""nuxt routes (placeholder until the full convention lands)."""

from __future__ import annotations

from perceo.observer.discovery.context import AppScan
from perceo.observer.model import RouteEntry


def discover_nuxt(scan: AppScan) -> list[RouteEntry]:
    return []
