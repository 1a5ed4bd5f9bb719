#!/usr/bin/env python3
"""Set-up and entry for newcomers: `python3 tasks.py run` starts the bot, `python3 tasks.py test`
runs every check. Each first creates or refreshes the project's virtual environment in .venv.

Only the standard library is used here, so a machine with nothing but Python 3.11 can run it.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".installed-from"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


def ensure_venv() -> None:
    """Create .venv and (re)install the project when pyproject.toml changed."""
    if sys.version_info < (3, 11):
        sys.exit(f"Python 3.11 or newer is needed (found {sys.version.split()[0]}).")
    if not PYTHON.exists():
        print("Creating the virtual environment in .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    print("Installing the project and its dependencies into .venv …", flush=True)
    pip = [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check"]
    subprocess.run([*pip, "-q", "--upgrade", "pip"], check=True)
    # pip's own lines (Collecting …, Downloading …) show the progress. setuptools' advice on
    # editable installs is for package authors, not for someone setting up: not shown.
    quiet_builds = os.environ | {"PYTHONWARNINGS": "ignore::UserWarning"}
    subprocess.run([*pip, "--progress-bar", "on", "-e", f"{ROOT}[test]"], check=True,
                   env=quiet_builds)
    STAMP.write_text(wanted)


def run(args: list[str]) -> int:
    """Start the bot (Telegram when a token is set, else the local console)."""
    return subprocess.call([str(PYTHON), "-m", "bot", *args], cwd=ROOT)


def test(args: list[str]) -> int:
    """Lint, type-check, then the whole test suite."""
    for step in ([str(BIN / "ruff"), "check", "."],
                 [str(BIN / "mypy")],
                 [str(PYTHON), "-m", "pytest", *args]):
        print("$", " ".join(Path(step[0]).name if i == 0 else s for i, s in enumerate(step)),
              flush=True)
        code = subprocess.call(step, cwd=ROOT)
        if code != 0:
            return code
    return 0


def main() -> int:
    action, args = (sys.argv[1], sys.argv[2:]) if len(sys.argv) > 1 else ("run", [])
    if action not in {"run", "test", "setup"}:
        print(__doc__)
        return 2
    ensure_venv()
    return {"run": run, "test": test, "setup": lambda _args: 0}[action](args)


if __name__ == "__main__":
    sys.exit(main())
