from __future__ import annotations

import pytest

from perceo.auth import Principal, effective_scopes, grants, parse_scopes, require_project, require_scope
from perceo.errors import AuthenticationError, PermissionDeniedError, ValidationFailed
from perceo.models.vocab import SCOPES


def _principal(*scopes: str, project_id: str = "proj-a") -> Principal:
    return Principal(project_id=project_id, key_id="k1", prefix="prc_abcdefgh", name="ci", scopes=scopes)


def test_project_admin_implies_every_scope() -> None:
    assert effective_scopes(["project:admin"]) == frozenset(SCOPES)
    assert all(grants(["project:admin"], scope) for scope in SCOPES)


def test_other_scopes_grant_only_themselves() -> None:
    assert grants(["flows:write"], "flows:write")
    assert not grants(["flows:write"], "flows:read")
    assert not grants(["keys:manage"], "project:admin")


def test_parse_scopes_dedupes_and_orders_by_vocabulary() -> None:
    assert parse_scopes(["flows:read", " ci:analyze", "flows:read"]) == ["ci:analyze", "flows:read"]


def test_unknown_scopes_are_rejected_and_named() -> None:
    with pytest.raises(ValidationFailed, match="flows:delete") as caught:
        parse_scopes(["flows:read", "flows:delete"])
    assert "flows:read" in caught.value.message  # the allowed list is shown


def test_a_key_without_scopes_is_rejected() -> None:
    with pytest.raises(ValidationFailed, match="at least one scope"):
        parse_scopes([" ", ""])


def test_require_scope_passes_with_the_scope_or_admin() -> None:
    require_scope(_principal("flows:read"), "flows:read")
    require_scope(_principal("project:admin"), "keys:manage")


def test_require_scope_denies_a_missing_scope() -> None:
    with pytest.raises(PermissionDeniedError, match="flows:write") as caught:
        require_scope(_principal("flows:read"), "flows:write")
    assert caught.value.details["requiredScope"] == "flows:write"


def test_require_project_denies_a_key_of_another_project() -> None:
    require_project(_principal("project:admin"), "proj-a")
    with pytest.raises(PermissionDeniedError, match="proj-b"):
        require_project(_principal("project:admin"), "proj-b")


def test_principal_round_trips_through_the_authorizer_context() -> None:
    principal = _principal("flows:read", "ci:analyze")

    context = principal.to_authorizer_context()

    assert all(isinstance(value, str) for value in context.values())
    assert context["scopes"] == "flows:read ci:analyze"
    assert Principal.from_authorizer_context(context).scopes == ("ci:analyze", "flows:read")
    assert Principal.from_authorizer_context(context).project_id == "proj-a"


def test_a_missing_authorizer_context_is_unauthenticated() -> None:
    with pytest.raises(AuthenticationError):
        Principal.from_authorizer_context({"scopes": "flows:read"})


def test_unknown_scopes_in_an_authorizer_context_are_dropped() -> None:
    context = _principal("flows:read").to_authorizer_context() | {"scopes": "flows:read root:all"}

    assert Principal.from_authorizer_context(context).scopes == ("flows:read",)
