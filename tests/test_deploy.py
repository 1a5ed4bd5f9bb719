"""The deployment files (deploy/) checked without a Docker engine: what the compose file asks
of an operator is in the example settings, the proxy looks for the bots where they listen,
the image holds every package, and — where systemd and Caddy are installed — each reads its
file without complaint. (`docker compose config` would need Compose, absent here.)"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
UNIT = DEPLOY / "jinlin@.service"


def settings_in_example() -> set[str]:
    """The settings .env.example names, those to uncomment (`# NAME=`) too."""
    example = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^(?:# )?([A-Z_]+)=", example, re.MULTILINE))


def test_every_setting_the_compose_file_insists_on_is_in_the_example_settings() -> None:
    """`cp .env.example .env`, fill it in, `docker compose up`: nothing it insists on
    (`${NAME:?…}`) is missing from the file the operator copied."""
    compose = (DEPLOY / "compose.yaml").read_text()
    insisted = set(re.findall(r"\$\{(\w+):\?", compose))
    assert insisted
    assert sorted(insisted - settings_in_example()) == []


def test_the_proxy_looks_for_the_bots_where_they_listen() -> None:
    compose = (DEPLOY / "compose.yaml").read_text()
    caddyfile = (DEPLOY / "Caddyfile").read_text()
    (service, port) = re.findall(r"dynamic a (\S+) (\d+)", caddyfile)[0]
    assert re.search(rf"^  {service}:$", compose, re.MULTILINE), f"no service {service}"
    assert f'JINLIN_WEB_PORT: "{port}"' in compose
    (health,) = re.findall(r"health_uri (\S+)", caddyfile)
    assert health == "/readyz"  # what bot/health.py answers 503 to while not ready


def test_the_image_holds_every_package_the_project_installs() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    copied = {name for line in re.findall(r"^COPY (.+)$", dockerfile, re.MULTILINE)
              for name in line.split()[:-1]}
    for name in copied:
        assert (ROOT / name).exists(), f"the Dockerfile copies {name}, which is not there"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = project["tool"]["setuptools"]["packages"]["find"]["include"]
    assert {pattern.rstrip("*") for pattern in packages} | {"locales"} <= copied


def test_systemd_knows_every_line_of_the_unit() -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    checked = subprocess.run([analyze, "verify", str(UNIT)],  # noqa: S603 - a fixed command
                             capture_output=True, text=True,
                             timeout=60, check=False)
    said = (checked.stdout + checked.stderr).splitlines()
    # The unit runs the bot installed in /opt/jinlin, which this machine does not have.
    assert [line for line in said if "/opt/jinlin/.venv/bin/python" not in line] == []


def test_caddy_reads_the_caddyfile() -> None:
    caddy = shutil.which("caddy")
    if caddy is None:
        pytest.skip("caddy is not installed (Debian: apt-get install caddy)")
    checked = subprocess.run(  # noqa: S603 - a fixed command
        [caddy, "adapt", "--config", str(DEPLOY / "Caddyfile"), "--adapter", "caddyfile",
         "--validate"], capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "JINLIN_DOMAIN": "jinlin.example"})
    assert checked.returncode == 0, checked.stderr
