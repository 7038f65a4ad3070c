"""A project's git credentials come from its own secret in Secrets Manager (moto), never from a request."""

from __future__ import annotations

import json

import pytest
from workflow_support import Session

from perceo.errors import ConfigError
from perceo.models import new_id
from perceo.workflows.credentials import SecretsManagerGitCredentials

PREFIX = "perceo/test/git/"


def test_a_projects_token_is_read_from_its_secret_and_other_projects_have_none(workflow_session: Session) -> None:
    client = workflow_session.aws.client("secretsmanager")
    project, other = f"p-{new_id()[:8]}", f"p-{new_id()[:8]}"
    secret = json.dumps({"token": "glpat-abc", "username": "oauth2"})
    client.create_secret(Name=f"{PREFIX}{project}", SecretString=secret)
    source = SecretsManagerGitCredentials(client, PREFIX)

    found = source.credentials_for(project)

    assert found is not None and found.token is not None
    assert (found.token.get_secret_value(), found.username) == ("glpat-abc", "oauth2")
    assert "glpat-abc" not in repr(found)
    assert source.credentials_for(other) is None


def test_an_ssh_secret_needs_its_known_hosts_and_a_malformed_secret_is_named_not_shown(
    workflow_session: Session,
) -> None:
    client = workflow_session.aws.client("secretsmanager")
    project = f"p-{new_id()[:8]}"
    client.create_secret(Name=f"{PREFIX}{project}", SecretString=json.dumps({"sshPrivateKey": "-----BEGIN KEY-----"}))
    source = SecretsManagerGitCredentials(client, PREFIX)

    with pytest.raises(ConfigError) as error:
        source.credentials_for(project)

    assert f"{PREFIX}{project}" in error.value.message and "knownHosts" in error.value.message
    assert "BEGIN KEY" not in error.value.message
