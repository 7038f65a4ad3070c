"""Export and import over the real projects Lambda, graph and Redis: JSON Lines out (keys' metadata, never a
secret), all-or-nothing in, `project:admin` only, and never across projects."""

from __future__ import annotations

import json

from api_handlers import body_of, header_of
from api_integration_kit import call, create_project, error_code, key_for

from perceo import wiring
from perceo.models import Flow


def _export(caller, project_id: str) -> dict:  # type: ignore[no-untyped-def]
    return call("projects/export-project", caller, id=project_id)


def test_a_project_exports_as_json_lines_with_its_keys_metadata_and_no_secret(api: wiring.Services) -> None:
    owner = create_project("Backed up")
    api.graph.upsert_flows(owner.project_id, [Flow(project_id=owner.project_id, name="Checkout")])

    response = _export(owner, owner.project_id)

    assert response["statusCode"] == 200, response
    assert (header_of(response, "Content-Type") or "").startswith("application/x-ndjson")
    lines = response["body"].splitlines()
    records = [json.loads(line) for line in lines]
    assert records[0]["format"] == "perceo-export" and records[0]["projectId"] == owner.project_id
    assert {r.get("type") for r in records} >= {"Project", "Flow", "HAS_FLOW", "ApiKey"}
    (key,) = [r for r in records if r.get("type") == "ApiKey"]
    assert key["properties"]["prefix"] == owner.key[:12]
    stored = api.keys.list_keys(owner.project_id)[0]
    assert owner.key not in response["body"] and owner.key[12:] not in response["body"]
    assert "keyHash" not in response["body"] and "lastUsed" not in response["body"]
    assert stored.prefix == owner.key[:12]


def test_import_replaces_the_project_all_at_once_and_lists_keys_to_reissue(api: wiring.Services) -> None:
    owner = create_project("Restored")
    api.graph.upsert_flows(owner.project_id, [Flow(project_id=owner.project_id, name="Checkout")])
    exported = _export(owner, owner.project_id)["body"]
    api.graph.upsert_flows(owner.project_id, [Flow(project_id=owner.project_id, name="Added later")])

    refused = call("projects/import-project", owner, body={"export": exported}, id=owner.project_id)
    assert refused["statusCode"] == 409 and error_code(refused) == "conflict"
    assert api.graph.get_flow_by_name(owner.project_id, "Added later") is not None

    answer = call("projects/import-project", owner, body={"export": exported, "replace": True}, id=owner.project_id)

    assert answer["statusCode"] == 200, answer
    result = body_of(answer)
    assert result["replaced"] is True and [k["prefix"] for k in result["keysToReissue"]] == [owner.key[:12]]
    assert api.graph.get_flow_by_name(owner.project_id, "Added later") is None
    assert _export(owner, owner.project_id)["body"].splitlines()[1:] == exported.splitlines()[1:]


def test_a_bad_file_is_a_422_naming_its_line_and_changes_nothing(api: wiring.Services) -> None:
    owner = create_project("Kept")
    exported = _export(owner, owner.project_id)["body"]
    cut = "\n".join(exported.splitlines()[:-1]) + "\n"  # no end record

    answer = call("projects/import-project", owner, body={"export": cut, "replace": True}, id=owner.project_id)

    assert answer["statusCode"] == 422 and body_of(answer)["error"]["details"]["line"] == len(exported.splitlines())
    assert _export(owner, owner.project_id)["body"].splitlines()[1:] == exported.splitlines()[1:]


def test_another_projects_key_can_neither_export_nor_import(api: wiring.Services) -> None:
    victim, intruder = create_project("Victim"), create_project("Intruder")
    exported = _export(intruder, intruder.project_id)["body"]

    assert _export(intruder, victim.project_id)["statusCode"] == 403
    answer = call("projects/import-project", intruder, body={"export": exported, "replace": True}, id=victim.project_id)
    assert answer["statusCode"] == 403
    assert api.graph.get_project(victim.project_id) is not None


def test_only_project_admin_may_export_or_import(api: wiring.Services) -> None:
    owner = create_project("Scoped")
    reader = key_for(owner, ["flows:read"], "reader")

    assert _export(reader, owner.project_id)["statusCode"] == 403
    answer = call("projects/import-project", reader, body={"export": "x"}, id=owner.project_id)
    assert answer["statusCode"] == 403
