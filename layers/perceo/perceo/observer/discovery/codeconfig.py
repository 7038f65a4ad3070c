"""Routes declared in code (placeholder)."""

from __future__ import annotations

from perceo.observer.discovery.context import AppScan
from perceo.observer.model import RouteEntry


def discover_react_router(scan: AppScan) -> list[RouteEntry]:
    return []


def discover_vue(scan: AppScan) -> list[RouteEntry]:
    return []
