"""Which repository URLs the cloud clones: only https:// and ssh:// (or scp-style) on allowed hosts."""

from __future__ import annotations

import pytest

from perceo.workflows.errors import GitUrlRejectedError
from perceo.workflows.gitremote import check_branch, parse_git_remote

ALLOWED = ("github.com", "gitlab.com", "git.internal.example:8443")


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        ("https://github.com/acme/shop.git", "https://github.com/acme/shop.git"),
        ("https://GitHub.com/acme/shop", "https://github.com/acme/shop"),
        ("https://gitlab.com/group/sub/shop.git", "https://gitlab.com/group/sub/shop.git"),
        ("ssh://git@github.com/acme/shop.git", "ssh://git@github.com/acme/shop.git"),
        ("ssh://git@github.com:22/acme/shop.git", "ssh://git@github.com:22/acme/shop.git"),
        ("git@github.com:acme/shop.git", "ssh://git@github.com/acme/shop.git"),
        ("https://git.internal.example:8443/acme/shop.git", "https://git.internal.example:8443/acme/shop.git"),
    ],
)
def test_https_and_ssh_urls_of_allowed_hosts_are_accepted_and_normalised(url: str, normalised: str) -> None:
    assert parse_git_remote(url, ALLOWED).url == normalised


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "scheme file://"),
        ("file://github.com/acme/shop.git", "scheme file://"),
        ("/srv/git/shop.git", "local paths"),
        ("./shop", "local paths"),
        ("~/shop", "local paths"),
        ("C:\\repos\\shop", "local paths"),
        ("ext::sh -c touch% /tmp/pwned", "spaces or control"),
        ("ext::sh", "remote helpers"),
        ("fd::17", "remote helpers"),
        ("git://github.com/acme/shop.git", "scheme git://"),
        ("http://github.com/acme/shop.git", "scheme http://"),
        ("https://evil.example/acme/shop.git", "host evil.example is not allowed"),
        ("https://github.com.evil.example/acme/shop.git", "is not allowed"),
        ("https://token@github.com/acme/shop.git", "credentials in the URL"),
        ("https://user:pw@github.com/acme/shop.git", "credentials in the URL"),
        ("ssh://git:pw@github.com/acme/shop.git", "credentials in the URL"),
        ("https://github.com/acme/shop.git?ref=x", "query strings"),
        ("https://github.com/acme/../../etc", "owner/repository"),
        ("https://github.com/shop", "owner/repository"),
        ("https://git.internal.example/acme/shop.git", "is not allowed"),
        ("https://git.internal.example:9999/acme/shop.git", "is not allowed"),
        ("https://127.0.0.1/acme/shop.git", "is not allowed"),
        ("--upload-pack=touch /tmp/x", "spaces or control"),
        ("-uhttps://github.com/a/b", "starts with '-'"),
        ("https://github.com/acme/shop\n.git", "spaces or control"),
        ("git@evil.example:acme/shop.git", "host evil.example is not allowed"),
        ("", "1-2048 characters"),
    ],
)
def test_other_urls_are_refused_with_the_reason_and_without_echoing_the_url(url: str, reason: str) -> None:
    with pytest.raises(GitUrlRejectedError) as refused:
        parse_git_remote(url, ALLOWED)

    assert reason in refused.value.message
    assert "pw@" not in refused.value.message and "token@" not in refused.value.message
    assert refused.value.details == {"field": "repoUrl"}


def test_an_empty_allow_list_refuses_every_host() -> None:
    with pytest.raises(GitUrlRejectedError, match="allowed: none"):
        parse_git_remote("https://github.com/acme/shop.git", ())


@pytest.mark.parametrize("branch", ["main", "release/2.1", "feature/x_y-z", "v1.0.0", "deps+bump"])
def test_plain_branch_names_pass(branch: str) -> None:
    assert check_branch(branch) == branch


@pytest.mark.parametrize(
    "branch", ["-b", "--upload-pack=x", "a..b", "main.lock", "/main", "main/", "a b", "x@{1}", ".hidden", "a//b", ""]
)
def test_branches_that_git_could_read_as_options_or_ranges_are_refused(branch: str) -> None:
    with pytest.raises(GitUrlRejectedError):
        check_branch(branch)
