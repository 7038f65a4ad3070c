"""Size of the Lambda layer as `sam build` makes it: bytes and files, the whole layer and the `perceo` package in it,
for this checkout's HEAD and a baseline commit (`git archive`, nothing checked out), measured in the same run.

With a SAM CLI (`--sam`, default `.venv-sam/bin/sam` as `.ci/run` installs it, else `sam` on PATH) and a python3.12
interpreter, each commit's `PerceoLayer` is built by `sam build`. Without them (or with `--approximate`) the layer
is put together as `sam build` would: `layers/perceo/requirements.txt` installed with uv for the Lambda runtime
(python3.12, x86_64 manylinux) next to a copy of `layers/perceo/` without bytecode caches.

    .venv/bin/python bench/layer_size.py [--baseline 9e25f2e] [--approximate]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
UV = Path(sys.executable).parent / "uv"


def _python312() -> Path | None:
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = [*sorted(root.glob("versions/3.12*/bin/python3.12")), Path("/usr/local/bin/python3.12")]
    candidates.append(Path("/usr/bin/python3.12"))
    return next((c for c in candidates if c.is_file() and os.access(c, os.X_OK)), None)


def _sam(given: str | None) -> Path | None:
    for candidate in (given, str(REPO / ".venv-sam" / "bin" / "sam"), shutil.which("sam")):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def _extract(ref: str, target: Path) -> None:
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref], capture_output=True, check=True).stdout
    with tempfile.TemporaryFile() as buffer:
        buffer.write(archive)
        buffer.seek(0)
        with tarfile.open(fileobj=buffer) as tar:
            tar.extractall(target, filter="data")


def _sam_build(tree: Path, work: Path, sam: Path, python312: Path) -> Path:
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "PATH": f"{python312.parent}:{os.environ['PATH']}"}
    if ".pyenv/versions/" in str(python312):  # pyenv shims answer only for the selected versions
        env["PYENV_VERSION"] = f"{python312.parent.parent.name}"
    subprocess.run(
        [str(sam), "build", "PerceoLayer", "--template-file", "template.yaml", "--build-dir", str(work / "build"),
         "--cache-dir", str(work / "cache")],
        cwd=tree, env=env, check=True, capture_output=True, timeout=1800,
    )  # fmt: skip
    return work / "build" / "PerceoLayer"


def _approximate(tree: Path, work: Path) -> Path:
    layer = work / "layer" / "python"
    install = [
        str(UV), "pip", "install", "--quiet", "--target", str(layer), "--python-version", "3.12",
        "--python-platform", "x86_64-manylinux_2_28", "-r", str(tree / "layers" / "perceo" / "requirements.txt"),
    ]  # fmt: skip
    if subprocess.run([*install, "--offline"], capture_output=True, check=False).returncode != 0:
        subprocess.run(install, capture_output=True, check=True, timeout=1800)
    source = tree / "layers" / "perceo"
    shutil.copytree(source, layer, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return layer.parent


def _measure(root: Path) -> tuple[int, int]:
    files = [p for p in root.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=None, help="a commit to measure beside HEAD")
    parser.add_argument("--sam", default=None, help="the SAM CLI to build with")
    parser.add_argument("--approximate", action="store_true", help="assemble the layer with uv instead of sam build")
    options = parser.parse_args()
    sam, python312 = _sam(options.sam), _python312()
    exact = not options.approximate and sam is not None and python312 is not None
    print(f"method: {'sam build PerceoLayer' if exact else 'uv install of the layer requirements + layers/perceo'}")
    refs = [("HEAD", "HEAD")] + ([("baseline", options.baseline)] if options.baseline else [])
    figures: dict[str, tuple[int, int, int, int]] = {}
    with tempfile.TemporaryDirectory(prefix="perceo-layer-size-") as scratch:
        for label, ref in refs:
            tree, work = Path(scratch) / label / "tree", Path(scratch) / label / "work"
            tree.mkdir(parents=True)
            work.mkdir()
            _extract(ref, tree)
            if exact:
                assert sam is not None and python312 is not None
                built = _sam_build(tree, work, sam, python312)
            else:
                built = _approximate(tree, work)
            files, size = _measure(built)
            package_files, package_size = _measure(built / "python" / "perceo")
            figures[label] = (files, size, package_files, package_size)
            commit = subprocess.run(
                ["git", "-C", str(REPO), "rev-parse", "--short", ref], capture_output=True, text=True, check=True
            ).stdout.strip()
            print(
                f"{label:9} {commit}: layer {files:,} files, {size:,} bytes; "
                f"perceo package {package_files:,} files, {package_size:,} bytes"
            )
    if "baseline" in figures:
        head, base = figures["HEAD"], figures["baseline"]
        print(
            f"HEAD / baseline: layer files {head[0] / base[0]:.3f}, bytes {head[1] / base[1]:.3f}; "
            f"perceo package files {head[2] / base[2]:.3f}, bytes {head[3] / base[3]:.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
