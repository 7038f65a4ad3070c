"""Manifests and lockfiles diffed per package, so a bump affects only the importers of what was bumped."""

from __future__ import annotations

import json

from perceo.observer.manifests import diff_manifest


def _json(value: object) -> bytes:
    return json.dumps(value, indent=2).encode()


def test_package_json_dependency_bump_names_only_that_package() -> None:
    old = _json({"name": "web", "dependencies": {"react": "^18.2.0", "date-fns": "^2.0.0"}, "scripts": {"dev": "x"}})
    new = _json({"name": "web", "dependencies": {"react": "^18.2.0", "date-fns": "^3.0.0"}, "scripts": {"dev": "y"}})
    change = diff_manifest("package.json", old, new)
    assert change.packages == {"date-fns"} and not change.global_change


def test_package_json_added_and_removed_dependencies_count() -> None:
    old = _json({"dependencies": {"a": "1"}, "devDependencies": {"b": "1"}})
    new = _json({"dependencies": {"c": "1"}, "devDependencies": {"b": "1"}})
    assert diff_manifest("apps/web/package.json", old, new).packages == {"a", "c"}
    assert diff_manifest("apps/web/package.json", old, new).scope == "apps/web"


def test_package_json_runtime_key_change_is_global() -> None:
    old = _json({"type": "commonjs", "dependencies": {}})
    new = _json({"type": "module", "dependencies": {}})
    assert diff_manifest("package.json", old, new).global_change


def test_unparseable_manifest_is_global() -> None:
    assert diff_manifest("package.json", b"{", b"{}").global_change
    assert diff_manifest("bun.lockb", b"\0\1", b"\0\2").global_change


def _npm_lock(lodash: str, react: str = "18.2.0") -> bytes:
    return _json(
        {
            "lockfileVersion": 3,
            "packages": {
                "": {"dependencies": {"react": "^18", "lodash.merge": "^4"}},
                "node_modules/react": {"version": react, "dependencies": {"loose-envify": "^1"}},
                "node_modules/loose-envify": {"version": "1.4.0"},
                "node_modules/lodash.merge": {"version": "4.6.2", "dependencies": {"lodash": "^4"}},
                "node_modules/lodash": {"version": lodash, "integrity": f"sha-{lodash}"},
            },
        }
    )


def test_package_lock_bump_names_the_package_and_its_dependents() -> None:
    change = diff_manifest("package-lock.json", _npm_lock("4.17.20"), _npm_lock("4.17.21"))
    assert change.packages == {"lodash", "lodash.merge"}  # lodash.merge depends on lodash: its importers are at risk
    assert not change.global_change
    assert diff_manifest("package-lock.json", _npm_lock("1", "18.2.0"), _npm_lock("1", "18.3.1")).packages == {"react"}


YARN_V1 = """# yarn lockfile v1


"@babel/highlight@^7.10.4":
  version "7.10.4"
  dependencies:
    chalk "^2.0.0"

chalk@^2.0.0, chalk@^2.4.2:
  version "{chalk}"
  resolved "https://registry.yarnpkg.com/chalk/-/chalk-{chalk}.tgz"

react@^18.2.0:
  version "18.2.0"
"""


def test_yarn_v1_bump_names_the_package_and_its_dependents() -> None:
    change = diff_manifest(
        "yarn.lock", YARN_V1.replace("{chalk}", "2.4.1").encode(), YARN_V1.replace("{chalk}", "2.4.2").encode()
    )
    assert change.packages == {"chalk", "@babel/highlight"}


YARN_BERRY = """__metadata:
  version: 6

"react-dom@npm:^18.2.0":
  version: 18.2.0
  dependencies:
    scheduler: ^0.23.0

"scheduler@npm:^0.23.0":
  version: {scheduler}
  checksum: abc

"zod@npm:^3.0.0":
  version: 3.22.0
"""


def test_yarn_berry_bump() -> None:
    change = diff_manifest(
        "yarn.lock",
        YARN_BERRY.replace("{scheduler}", "0.23.0").encode(),
        YARN_BERRY.replace("{scheduler}", "0.23.2").encode(),
    )
    assert change.packages == {"scheduler", "react-dom"}


PNPM = """lockfileVersion: '9.0'
importers:
  .:
    dependencies:
      react:
        specifier: ^18.2.0
        version: 18.2.0
      zod:
        specifier: ^3.0.0
        version: {zod}
packages:
  react@18.2.0:
    resolution: {{integrity: sha512-a}}
  zod@{zod}:
    resolution: {{integrity: sha512-{zod}}}
snapshots:
  react@18.2.0:
    dependencies:
      loose-envify: 1.4.0
  zod@{zod}: {{}}
"""


def test_pnpm_bump_names_only_that_package() -> None:
    change = diff_manifest("pnpm-lock.yaml", PNPM.format(zod="3.22.0").encode(), PNPM.format(zod="3.23.0").encode())
    assert change.packages == {"zod"}


def test_new_lockfile_names_every_package() -> None:
    assert diff_manifest("package-lock.json", None, _npm_lock("1")).packages == {
        "react",
        "loose-envify",
        "lodash",
        "lodash.merge",
    }
