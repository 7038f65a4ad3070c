"""Reusable constrained types."""

from __future__ import annotations

import time
import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

ProjectId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
EntityId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
#: Control characters other than tab, newline and carriage return are never part of a name or a route (and the
#: graph engine crashes on U+0001 in a uniquely constrained property, such as a flow's name or a page's route).
_NO_CONTROL = r"[^\x00-\x08\x0b\x0c\x0e-\x1f]*"
Route = Annotated[str, StringConstraints(min_length=1, max_length=2048, pattern=rf"^/{_NO_CONTROL}$")]
Sha = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{7,64}$")]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=rf"^{_NO_CONTROL}$")
]
EpochMs = Annotated[int, Field(ge=0)]
UnitFloat = Annotated[float, Field(ge=0.0, le=1.0)]


def now_ms() -> int:
    """The current time as epoch milliseconds, the only timestamp form Perceo stores."""
    return time.time_ns() // 1_000_000


def new_id() -> str:
    """A random, unguessable identifier."""
    return uuid.uuid4().hex


class Model(BaseModel):
    """Base for Perceo models.

    Python code uses snake_case; everything stored or sent (graph properties, JSON contracts) is camelCase.
    Unknown fields are rejected so a typo in a payload or a config is an error, not silence.
    """

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        serialize_by_alias=True,
        validate_by_name=True,
        validate_by_alias=True,
    )
