"""The data folder a deployer gets: private folder and files, one secret key for every worker."""

from __future__ import annotations

import multiprocessing
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from bot import datadir
from bot.settings import Settings
from handlers.rules import Rules
from storage.db import Database
from storage.models import Community

WORKERS = 4
TRIALS = 25
ROOT = Path(__file__).resolve().parent.parent


def bot_env(**values: str) -> dict[str, str]:
    """The environment of a `python -m bot` run: only what the test sets (no .env is read,
    the run's folder being the test's)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("JINLIN_", "TELEGRAM_", "WECHAT_")) and k != "DATABASE_URL"}
    return {**env, "PYTHONPATH": str(ROOT), **values}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _worker(folder: str, start: multiprocessing.synchronize.Barrier,
            results: multiprocessing.Queue[bytes]) -> None:
    start.wait()
    results.put(datadir.secret_key(Path(folder)))


def test_workers_starting_together_all_read_the_same_key(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    keys_per_trial = []
    for trial in range(TRIALS):
        folder = tmp_path / f"trial{trial}"
        start, results = context.Barrier(WORKERS), context.Queue()
        workers = [context.Process(target=_worker, args=(str(folder), start, results))
                   for _ in range(WORKERS)]
        for worker in workers:
            worker.start()
        keys = {results.get(timeout=20) for _ in workers}
        for worker in workers:
            worker.join(20)
        keys_per_trial.append(keys)
        assert sorted(p.name for p in folder.iterdir()) == ["secret.key"], "no temp files left"
    assert [len(keys) for keys in keys_per_trial] == [1] * TRIALS
    assert all(len(next(iter(keys))) >= 32 for keys in keys_per_trial)


def test_the_folder_key_and_database_are_private(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    env = bot_env(JINLIN_DATA_DIR=str(folder))
    done = subprocess.run([sys.executable, "-m", "bot", "db", "upgrade"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    key = Settings(JINLIN_DATA_DIR=folder).secret()  # type: ignore[call-arg]
    assert len(key) >= 32
    files = {p.name: mode(p) for p in folder.iterdir()}
    assert mode(folder) == 0o700
    assert files["secret.key"] == 0o600
    assert files["jinlin.sqlite3"] == 0o600
    database = Database.from_url(Settings(JINLIN_DATA_DIR=folder).db_url)  # type: ignore[call-arg]
    try:
        with database.session() as session:
            session.add(Community(name="鹭江社区"))
        open_files = {p.name: mode(p) for p in folder.glob("jinlin.sqlite3-*")}
    finally:
        database.dispose()
    assert sorted(open_files) == ["jinlin.sqlite3-shm", "jinlin.sqlite3-wal"]
    assert set(open_files.values()) == {0o600}


def test_database_files_left_readable_are_made_private(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    for name in ("jinlin.sqlite3", "jinlin.sqlite3-wal", "jinlin.sqlite3-shm"):
        (folder / name).touch(mode=0o644)
        (folder / name).chmod(0o644)
    datadir.database_file(folder)
    assert {p.name: mode(p) for p in folder.iterdir()} == dict.fromkeys(
        ("jinlin.sqlite3", "jinlin.sqlite3-wal", "jinlin.sqlite3-shm"), 0o600)


def test_an_empty_key_file_is_never_used(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "secret.key").write_bytes(b"\n")
    with pytest.raises(RuntimeError, match="empty"):
        datadir.secret_key(folder)


def test_a_short_or_empty_secret_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        Rules(secret=b"")
    with pytest.raises(ValueError, match="16 bytes"):
        Rules(secret=b"fifteen-bytes!!")
    assert Rules(secret=b"sixteen-bytes-ok").secret == b"sixteen-bytes-ok"
    assert Rules().secret != Rules().secret, "left out, each process makes its own"
    env = bot_env(JINLIN_DATA_DIR=str(tmp_path / "data"), JINLIN_SECRET_KEY="short")
    done = subprocess.run([sys.executable, "-m", "bot", "console"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False,
                          input="")
    assert done.returncode != 0
    assert "at least 16 bytes" in done.stderr
