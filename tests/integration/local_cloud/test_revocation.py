"""Revocation and project deletion take effect at once through the local API Gateway, whose authorizer caches a
key's answer for the template's 60 s: every request re-reads the key's status, so nothing waits for the cache."""

from __future__ import annotations

from cloud_harness import RunningCloud


def _warm(cloud: RunningCloud, key: str) -> None:
    """Put the key's answer in the gateway's authorizer cache."""
    with cloud.http(key) as client:
        assert client.get("flows").status_code == 200


def test_a_revoked_key_in_the_authorizer_cache_can_neither_write_nor_manage_keys(cloud: RunningCloud) -> None:
    _, admin = cloud.create_project()
    with cloud.http(admin) as client:
        victim = client.post("keys", json={"name": "leaked", "scopes": ["keys:manage", "flows:write", "flows:read"]})
    leaked = victim.json()["key"]
    _warm(cloud, leaked)

    with cloud.http(admin) as client:
        assert client.delete(f"keys/{leaked[:12]}", params={"reason": "leaked"}).status_code == 200
    with cloud.http(leaked) as client:
        mint = client.post("keys", json={"name": "backdoor", "scopes": ["flows:read"]})
        write = client.post("flows", json={"name": "Injected"})
        read = client.get("flows")
        listing = client.get("keys")
    with cloud.http(admin) as client:
        names = [k["name"] for k in client.get("keys", params={"includeInactive": "true"}).json()["keys"]]
        flows = client.get("flows").json()["flows"]

    assert [mint.status_code, write.status_code, read.status_code, listing.status_code] == [401, 401, 401, 401]
    assert mint.json()["error"]["code"] == "unauthenticated"
    assert "backdoor" not in names
    assert flows == []


def test_a_deleted_projects_keys_stop_at_once_and_none_can_be_minted(cloud: RunningCloud) -> None:
    project, admin = cloud.create_project()
    with cloud.http(admin) as client:
        other = client.post("keys", json={"name": "ci", "scopes": ["keys:manage", "flows:read"]}).json()["key"]
    _warm(cloud, admin)
    _warm(cloud, other)

    with cloud.http(admin) as client:
        deleted = client.delete(f"projects/{project['id']}")
    with cloud.http(other) as client:
        flows = client.get("flows")
        mint = client.post("keys", json={"name": "afterlife", "scopes": ["flows:read"]})
    keys_left = cloud.key_service().list_keys(project["id"], include_inactive=True)

    assert deleted.status_code == 200 and deleted.json()["keysDeleted"] == 2
    assert (flows.status_code, mint.status_code) == (401, 401)
    assert keys_left == []


def test_a_key_revokes_itself_only_when_asked_explicitly(cloud: RunningCloud) -> None:
    _, admin = cloud.create_project()
    prefix = admin[:12]

    with cloud.http(admin) as client:
        refused = client.delete(f"keys/{prefix}")
        still = client.get("keys")
        revoked = client.delete(f"keys/{prefix}", params={"allowSelf": "true", "reason": "retiring"})
        after = client.get("keys")

    assert refused.status_code == 409
    assert "allowSelf=true" in refused.json()["error"]["message"]
    assert still.status_code == 200
    assert revoked.status_code == 200 and revoked.json()["revokedAt"] is not None
    assert after.status_code == 401
