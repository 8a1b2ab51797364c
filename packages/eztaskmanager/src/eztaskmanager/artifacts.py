"""Files a run attaches to its report (artifacts), kept with Django's storage API.

A command run by the task manager calls::

    from eztaskmanager.artifacts import add_artifact

    add_artifact("summary.csv", "isbn,title\\n...")  # bytes, str, a File or an open binary file

(``LoggerEnabledCommand.add_artifact`` is the same). The file goes to the storage that
``EZTASKMANAGER["ARTIFACTS_STORAGE"]`` names (an alias of ``settings.STORAGES``), in a
folder of its report, and is listed on the report in the admin. A file larger than
``EZTASKMANAGER["ARTIFACTS_MAX_SIZE"]`` bytes is refused with a ``ValueError``.

The run is the one going on in the calling thread, found as the runner knows it: by the
log handler it installed for that thread (else the only run of the process, for a thread
the command started). Outside a run (a command started from a shell) the content is
checked the same way, nothing is stored, a warning says so and ``None`` is returned:
a command behaves the same wherever it runs, and a shell leaves no orphan files.

An artifact's file is deleted with its row (report pruned or deleted, task deleted,
``eztaskmanager_prune``), once the deleting transaction has committed.
"""

from __future__ import annotations

import io
import logging
import mimetypes
import os
import tempfile
import threading
from typing import IO, TYPE_CHECKING, Any

from django.core.exceptions import SuspiciousFileOperation
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.text import get_valid_filename

from eztaskmanager.conf import get_setting
from eztaskmanager.models.artifacts import Artifact, artifact_path, artifacts_storage

logger = logging.getLogger(__name__)

# The longest name kept (Artifact.name holds 255; the storage may add a suffix to the file).
MAX_NAME = 150
# A stream whose size cannot be asked is copied in memory up to this size, then on disk.
SPOOL_IN_MEMORY = 1024 * 1024
CHUNK = 64 * 1024

if TYPE_CHECKING:
    Content = bytes | bytearray | memoryview | str | File | IO[bytes]


def add_artifact(name: str, content: Content, content_type: str | None = None) -> Artifact | None:
    """Attach ``content`` as the file ``name`` to the run going on in this thread.

    ``content`` is bytes, a ``str`` (stored as UTF-8), a Django ``File`` or a file object
    open in binary mode (read from its start). Returns the :class:`Artifact`, or ``None``
    outside a run. Raises ``ValueError`` for a name that is no file name or a file larger
    than ``EZTASKMANAGER["ARTIFACTS_MAX_SIZE"]``, ``TypeError`` for other content.
    """
    clean_name = clean_artifact_name(name)
    file = as_file(content, clean_name, get_setting("ARTIFACTS_MAX_SIZE"))
    report_id = current_report_id()
    if report_id is None:
        logger.warning("No run is going on in this thread: artifact %r is not kept.", clean_name)
        return None
    if content_type is None:
        content_type = mimetypes.guess_type(clean_name)[0] or "application/octet-stream"
        if isinstance(content, str) and content_type.startswith("text/"):
            content_type += "; charset=utf-8"
    artifact = Artifact(report_id=report_id, name=clean_name, size=file.size)
    artifact.content_type = content_type[: Artifact._meta.get_field("content_type").max_length]
    storage = artifacts_storage()
    max_length = Artifact._meta.get_field("file").max_length
    stored = storage.save(artifact_path(artifact, clean_name), file, max_length=max_length)
    artifact.file.name = stored
    try:
        artifact.save()
    except BaseException:
        storage.delete(stored)  # no row points at it: it would never be deleted
        raise
    return artifact


def clean_artifact_name(name: str) -> str:
    """``name`` as a safe file name: no folder, only letters, digits, ``-_.``; kept short."""
    base = str(name).replace("\\", "/").rsplit("/", 1)[-1]
    try:
        cleaned = get_valid_filename(base)
    except SuspiciousFileOperation as exc:
        raise ValueError(f"Artifact name {name!r} is not a file name.") from exc
    if len(cleaned) > MAX_NAME:
        stem, ext = os.path.splitext(cleaned)
        ext = ext[:20]
        cleaned = stem[: MAX_NAME - len(ext)] + ext
    return cleaned


def as_file(content: Any, name: str, max_size: int | None) -> File:
    """``content`` as a Django ``File`` of known size, refused when larger than ``max_size``."""
    if isinstance(content, str):
        content = content.encode("utf-8")
    if isinstance(content, (bytes, bytearray, memoryview)):
        file: File = ContentFile(bytes(content), name=name)
    elif isinstance(content, io.TextIOBase) or (
        isinstance(content, File) and isinstance(content.file, io.TextIOBase)
    ):
        raise TypeError(f"Artifact {name!r}: open the file in binary mode ('rb').")
    elif isinstance(content, File):
        file = content
    elif hasattr(content, "read"):
        file = File(content, name=name)
    else:
        raise TypeError(
            f"Artifact {name!r}: content must be bytes, str, a File or a binary file object, "
            f"not {type(content).__name__}."
        )
    try:
        # A pipe or a socket has no size to ask (or a wrong one, from its descriptor).
        size = file.size if _seekable(file) else None
    except (AttributeError, OSError):
        size = None
    if size is None:
        file = _spooled(file, name, max_size)
        size = file.size
    _check_size(name, size, max_size)
    return file


def _seekable(file: File) -> bool:
    inner = getattr(file, "file", None) or file
    seekable = getattr(inner, "seekable", None)
    return bool(seekable()) if callable(seekable) else hasattr(inner, "seek")


def _spooled(file: File, name: str, max_size: int | None) -> File:
    """Copy a stream of unknown size, stopping as soon as it is larger than ``max_size``."""
    # Handed back open: the storage reads it; it goes (memory or disk) once unreferenced.
    copy = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
    size = 0
    try:
        while chunk := file.read(CHUNK):
            size += len(chunk)
            _check_size(name, size, max_size)
            copy.write(chunk)
    except BaseException:
        copy.close()
        raise
    copy.seek(0)
    spooled = File(copy, name=name)
    spooled.size = size
    return spooled


def _check_size(name: str, size: int, max_size: int | None) -> None:
    if max_size is not None and size > max_size:
        raise ValueError(
            f"Artifact {name!r} is larger ({size} bytes) than "
            f'EZTASKMANAGER["ARTIFACTS_MAX_SIZE"] ({max_size} bytes).'
        )


def current_report_id() -> int | None:
    """The report of the run going on in this thread; else of the only run of the process.

    The runner gives each run a :class:`DatabaseLogHandler` on the root logger, bound to
    the command's thread (the innermost one last, for a run inside a run).
    """
    from eztaskmanager.services.log_handler import DatabaseLogHandler

    handlers = [h for h in logging.getLogger().handlers if isinstance(h, DatabaseLogHandler)]
    ident = threading.get_ident()
    for handler in reversed(handlers):
        if handler.thread_id == ident:
            return handler.launch_report_id
    reports = {handler.launch_report_id for handler in handlers}
    return reports.pop() if len(reports) == 1 else None


def open_artifact(artifact: Artifact) -> File:
    """The artifact's file open for reading, from the storage the setting names now."""
    return artifacts_storage().open(artifact.file.name, "rb")


# Deleting files ------------------------------------------------------------------------------
def delete_artifact_file(sender: Any, instance: Artifact, using: str, **kwargs: Any) -> None:
    """Receiver of ``post_delete`` for :class:`Artifact`: delete its file once the delete is
    committed (a rolled-back delete keeps it), however the row went (cascades included)."""
    name = instance.file.name
    if name:
        transaction.on_commit(lambda: _delete_file(name), using=using)


def _delete_file(name: str) -> None:
    try:
        artifacts_storage().delete(name)
    except Exception:  # a storage away or misconfigured: the row is gone all the same
        logger.warning("Could not delete artifact file %s", name, exc_info=True)
