"""The data folder: created private (0700), its secret key made once, its database 0600.

Several workers may start together on a fresh folder, so the key is written whole into a
private temporary file first and then linked into place: the link either appears complete or
fails because another worker's key is already there, which is then the one everybody reads.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import stat
from pathlib import Path

log = logging.getLogger(__name__)

KEY_FILE = "secret.key"
DATABASE_FILE = "jinlin.sqlite3"
# SQLite's companions in WAL mode: they hold recent pages of the same data.
SIDE_FILES = ("-wal", "-shm", "-journal")
FOLDER_MODE = 0o700
FILE_MODE = 0o600
KEY_BYTES = 32


def ensure_folder(folder: Path) -> Path:
    """The data folder, created 0700 if missing; a warning when others may read an old one."""
    if not folder.exists():
        folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
        # mkdir's mode is filtered through the umask; make it exactly private.
        folder.chmod(FOLDER_MODE)
    elif stat.S_IMODE(folder.stat().st_mode) & 0o077:
        log.warning("the data folder %s can be read by other users of this machine; "
                    "consider chmod 700", folder)
    return folder


def secret_key(folder: Path) -> bytes:
    """The key kept in the folder, created once by whichever process comes first."""
    ensure_folder(folder)
    path = folder / KEY_FILE
    key = _read(path)
    if key:
        return key
    _create(path)
    key = _read(path)
    if not key:
        raise RuntimeError(f"{path} is empty: delete it to have a new key made")
    return key


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        return b""


def _create(path: Path) -> None:
    """Write a new key to a private temporary file, then link it in unless one exists."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(secrets.token_urlsafe(KEY_BYTES).encode())
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)  # fails if another process linked its key first
        _sync_folder(path.parent)
    finally:
        temporary.unlink(missing_ok=True)


def _sync_folder(folder: Path) -> None:
    """Make the new directory entry durable (a crash must not leave an empty key behind)."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def database_file(folder: Path) -> Path:
    """The SQLite file, created 0600 before SQLite opens it; existing files made 0600 too.

    SQLite gives its -wal and -shm files the database file's permissions.
    """
    ensure_folder(folder)
    path = folder / DATABASE_FILE
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE))
    for candidate in (path, *(path.with_name(path.name + s) for s in SIDE_FILES)):
        with contextlib.suppress(FileNotFoundError):
            if stat.S_IMODE(candidate.stat().st_mode) != FILE_MODE:
                candidate.chmod(FILE_MODE)
    return path
