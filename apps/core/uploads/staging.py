"""An uploaded file kept on the server between its preview and its import.

The preview and the import are two requests; the file travels once. It is written to a private
directory under a random name, and the name is remembered in the user's session (never in the
page), so a client can only ever import a file it uploaded itself in this session: a forged or
stale id finds nothing. The import reads and validates the file again from scratch: nothing the
preview concluded is trusted.

Files are removed when their import is accepted, and any file older than MAX_AGE_SECONDS is
removed on the next upload. The directory is the system's temporary directory unless the
setting EMS_CSV_STAGING_DIR names another: with several web hosts behind a load balancer it
must be shared by them (or sessions sticky), since the preview and the import may reach
different hosts.
"""

import os
import secrets
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from apps.core.exceptions import Invalid

from . import reader
from .reader import size_label

SESSION_KEY = "ems_csv_uploads"
MAX_AGE_SECONDS = 24 * 3600
MAX_PER_SESSION = 10
_TOKEN_BYTES = 16


@dataclass(frozen=True)
class StagedUpload:
    token: str
    kind: str
    name: str
    size: int

    @property
    def size_text(self) -> str:
        return size_label(self.size)


def _directory() -> Path:
    base = getattr(settings, "EMS_CSV_STAGING_DIR", "") or tempfile.gettempdir()
    path = Path(base) / "ems-csv-uploads"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _path(token: str) -> Path:
    return _directory() / f"{token}.csv"


def _valid_token(token: str) -> bool:
    return len(token) == 2 * _TOKEN_BYTES and all(c in "0123456789abcdef" for c in token)


def upload_stage(*, session, kind: str, upload, limit: int | None = None) -> StagedUpload:
    """Keep `upload` (a Django UploadedFile) for the session, as a file of `kind` ("samples",
    "config"). Invalid, naming the limit, when it is larger than `limit` bytes (default:
    reader.MAX_BYTES)."""
    limit = reader.MAX_BYTES if limit is None else limit
    if upload.size > limit:
        raise Invalid(
            f"The file is larger than {size_label(limit)} ({size_label(upload.size)}).", field="file"
        )
    _sweep()
    token = secrets.token_hex(_TOKEN_BYTES)
    size = 0
    with open(_path(token), "xb") as target:
        for chunk in upload.chunks():
            size += len(chunk)
            if size > limit:
                break
            target.write(chunk)
    if size > limit:
        _path(token).unlink(missing_ok=True)
        raise Invalid(f"The file is larger than {size_label(limit)}.", field="file")
    entries = dict(session.get(SESSION_KEY, {}))
    entries[token] = {"kind": kind, "name": os.path.basename(upload.name or "upload.csv")[:200], "size": size}
    for old in list(entries)[:-MAX_PER_SESSION]:
        _path(old).unlink(missing_ok=True)
        del entries[old]
    session[SESSION_KEY] = entries
    return StagedUpload(token=token, **entries[token])


def upload_get(*, session, kind: str, token: str) -> StagedUpload | None:
    """The session's staged file `token` of `kind`, or None (unknown, other kind, or gone)."""
    entry = session.get(SESSION_KEY, {}).get(token) if _valid_token(token or "") else None
    if entry is None or entry["kind"] != kind or not _path(token).exists():
        return None
    return StagedUpload(token=token, **entry)


def upload_read(staged: StagedUpload) -> bytes:
    return _path(staged.token).read_bytes()


def upload_path(staged: StagedUpload) -> Path:
    """Where the staged file is, for reading it as a stream."""
    return _path(staged.token)


def upload_discard(*, session, token: str) -> None:
    entries = dict(session.get(SESSION_KEY, {}))
    if entries.pop(token, None) is not None:
        session[SESSION_KEY] = entries
    if _valid_token(token):
        _path(token).unlink(missing_ok=True)


def _sweep() -> None:
    cutoff = time.time() - MAX_AGE_SECONDS
    for path in _directory().glob("*.csv"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except FileNotFoundError:
            continue
