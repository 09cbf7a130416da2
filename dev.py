#!/usr/bin/env python3
"""Set up the project and run it: the only script a fresh machine needs (Python 3.11+).

    python3 dev.py demo    # .venv from requirements.lock, `reab run` on the demo data, the report
    python3 dev.py test    # .venv from requirements.lock, then lint and the whole test suite
    python3 dev.py setup   # only the .venv
    python3 dev.py lock    # re-resolve pyproject.toml into requirements.lock (maintainers)

The environment is installed from ``requirements.lock`` (every package pinned with its
hashes) and re-installed only when that file changes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
LOCK = ROOT / "requirements.lock"
STAMP = VENV / ".reab-lock-sha256"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
UV_VERSION = "0.13.9"  # must match the uv pin in requirements.lock


def say(message: str) -> None:
    print(f"[dev] {message}", flush=True)


def run(*command: str | Path, **kwargs) -> None:
    say(" ".join(str(c) for c in command))
    subprocess.run([str(c) for c in command], check=True, cwd=ROOT, **kwargs)


def base_python() -> str:
    """This interpreter if it is 3.11+, else a python3.11+ found on PATH."""
    if sys.version_info >= (3, 11):  # noqa: UP036 - dev.py may be started by an older python3
        return sys.executable
    for name in ("python3.13", "python3.12", "python3.11"):
        found = shutil.which(name)
        if found:
            return found
    sys.exit("reab needs Python 3.11 or newer; install it and run: python3.11 dev.py ...")


def setup() -> None:
    wanted = hashlib.sha256(LOCK.read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == wanted and (BIN / "reab").exists():
        say(".venv is up to date with requirements.lock")
        return
    if not (BIN / "python").exists():
        say(f"creating {VENV}")
        if base_python() == sys.executable:
            venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
        else:
            run(base_python(), "-m", "venv", "--clear", VENV)
    python = BIN / "python"
    if not (BIN / "uv").exists():
        has_pip = subprocess.run([str(python), "-m", "pip", "--version"], capture_output=True)
        if has_pip.returncode:
            run(python, "-m", "ensurepip", "--upgrade")
        run(
            python,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            f"uv=={UV_VERSION}",
        )
    env = dict(os.environ, UV_PYTHON_DOWNLOADS="never", VIRTUAL_ENV=str(VENV))
    run(BIN / "uv", "pip", "sync", "--require-hashes", "--python", python, LOCK, env=env)
    run(
        BIN / "uv",
        "pip",
        "install",
        "--no-deps",
        "--no-build-isolation",
        "--python",
        python,
        "-e",
        ROOT,
        env=env,
    )
    STAMP.write_text(wanted)
    say("environment ready")


def lock() -> None:
    """Resolve pyproject.toml (all dependency groups) into requirements.lock."""
    setup()  # the locked uv lives in .venv
    env = dict(os.environ, UV_PYTHON_DOWNLOADS="never")
    uv = [BIN / "uv"]
    run(*uv, "lock", "--python", BIN / "python", env=env)
    run(
        *uv,
        "export",
        "--frozen",
        "--all-groups",
        "--no-emit-project",
        "--no-header",
        "--output-file",
        LOCK,
        env=env,
    )


def main(argv: list[str]) -> int:
    verb = argv[0] if argv else "help"
    if verb == "lock":
        lock()
        return 0
    if verb not in ("setup", "demo", "test"):
        print(__doc__)
        return 2
    setup()
    if verb == "demo":
        code = subprocess.call([str(BIN / "reab"), "run", "--demo", *argv[1:]], cwd=ROOT)
        if code == 0:  # then the monthly report of the latest month, into reports/
            db = argv[argv.index("--db") : argv.index("--db") + 2] if "--db" in argv else []
            code = subprocess.call([str(BIN / "reab"), "report", *db], cwd=ROOT)
        return code
    if verb == "test":
        run(BIN / "ruff", "check", ".")
        run(BIN / "ruff", "format", "--check", ".")
        return subprocess.call([str(BIN / "python"), "-m", "pytest", *argv[1:]], cwd=ROOT)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except subprocess.CalledProcessError as exc:
        sys.exit(f"[dev] failed: {' '.join(map(str, exc.cmd))} (exit {exc.returncode})")
