"""Repository content going to an LLM: which files may be sent, secrets redacted, data fenced as data."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import PurePosixPath

#: File names that hold secrets and are never read into a prompt.
_SECRET_NAMES = re.compile(
    r"""^(
        \.env(\..*)?            # .env, .env.local, .env.production
      | .*\.(pem|key|p12|pfx|jks|keystore|crt|cer|der|asc|gpg|kdbx|tfstate|tfvars)
      | id_(rsa|dsa|ecdsa|ed25519)(\.pub)?
      | \.npmrc | \.pypirc | \.netrc | \.htpasswd | \.git-credentials
      | credentials(\.json)? | secrets?(\..*)? | .*[-_.]secrets?(\..*)?
      | service[-_]?account.*\.json
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
_SECRET_DIRS = {".ssh", ".aws", ".gnupg", "secrets", ".secrets"}

#: Strings that look like credentials. Each match is replaced by a marker naming what was removed.
_SECRET_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("private-key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|\Z)", re.S)),
    ("openai-key", re.compile(r"\bsk-(?:proj-|live-|test-)?[A-Za-z0-9_-]{16,}")),
    ("anthropic-key", re.compile(r"\bsk-ant-[A-Za-z0-9_-]{16,}")),
    ("aws-access-key", re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[A-Z0-9]{16}\b")),
    ("github-token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})")),
    ("slack-token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("stripe-key", re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}")),
    ("google-api-key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}")),
    ("perceo-key", re.compile(r"\bprc_[A-Za-z0-9_-]{16,}")),
    ("url-credentials", re.compile(r"(?<=://)[^/\s:@]+:[^/\s@]+(?=@)")),
    (
        "assigned-secret",
        re.compile(
            r"""(?ix)
            (?<=[\s{,(])
            (?P<key>[A-Za-z0-9_]*(?:secret|password|passwd|api[_-]?key|access[_-]?key|private[_-]?key|token|credential)s?)
            (?P<sep>\s*[:=]\s*)
            (?P<quote>["'`])(?P<value>[^"'`\s]{8,})(?P=quote)
            """
        ),
    ),
)


def is_secret_file(path: str) -> bool:
    """True for files that must never be sent anywhere: env files, keys, credentials."""
    parts = PurePosixPath(path).parts
    if any(part.lower() in _SECRET_DIRS for part in parts[:-1]):
        return True
    return bool(parts) and bool(_SECRET_NAMES.match(parts[-1]))


def redact_secrets(text: str) -> tuple[str, int]:
    """`text` with secret-looking strings replaced by `[REDACTED:kind]`, and how many were replaced."""
    count = 0

    def replace(kind: str) -> Callable[[re.Match[str]], str]:
        def sub(match: re.Match[str]) -> str:
            nonlocal count
            count += 1
            if kind == "assigned-secret":
                quote = match.group("quote")
                return f"{match.group('key')}{match.group('sep')}{quote}[REDACTED:secret]{quote}"
            return f"[REDACTED:{kind}]"

        return sub

    for kind, pattern in _SECRET_PATTERNS:
        text = pattern.sub(replace(kind), text)
    return text, count


def _escape_attribute(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")


def fence_file(path: str, content: str) -> str:
    """One repository file as a delimited data block. A closing tag inside the file cannot end the block."""
    body = re.sub(r"</\s*repository-file", "<\\/repository-file", content, flags=re.IGNORECASE)
    return f'<repository-file path="{_escape_attribute(path)}">\n{body}\n</repository-file>'


def fence_text(text: str) -> str:
    """Repository-derived text placed inside a `<repository-data>` block."""
    return re.sub(r"</\s*repository-(data|file)", r"<\\/repository-\1", text, flags=re.IGNORECASE)
