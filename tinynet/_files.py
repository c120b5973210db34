"""Saving and loading networks: small JSON files, written atomically, read with clear errors."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import tempfile
from typing import Any

__all__ = ["read_json", "write_json"]


def write_json(path: str | bytes | os.PathLike[str] | os.PathLike[bytes], document: dict[str, Any],
               indent: int | None = 2) -> None:
    """Write ``document`` to ``path`` as JSON, atomically, as careful tools do.

    The text goes to a temporary file in the destination's directory, is flushed to disk, and the
    file is renamed over the destination: a crash leaves either the old file or the new one, whole.
    A symbolic link is written through (its target is replaced; the link stays); an existing file
    keeps its permission bits, and a new one gets the umask's; a destination that is not a regular
    file (a directory, a FIFO, a device such as ``/dev/null``) is refused. Floats are written as
    Python's repr, which reads back to exactly the same float. Errors name ``path`` as given.
    """
    name = os.fsdecode(path)
    target = os.path.realpath(name)
    text = json.dumps(document, indent=indent) + "\n"
    try:
        info = os.stat(target)
    except FileNotFoundError:
        mode = None
    else:
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, f"cannot save to {name!r}: it is not a regular file")
        mode = stat.S_IMODE(info.st_mode)
    if mode is None:                        # a new file: what the umask leaves of 0o666
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    try:
        handle, temporary = tempfile.mkstemp(prefix=".tinynet-", suffix=".tmp",
                                             dir=os.path.dirname(target))
    except OSError as exc:
        raise _naming(exc, name) from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fchmod(file.fileno(), mode)
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise _naming(exc, name) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _naming(exc: OSError, name: str) -> OSError:
    """``exc`` said of the user's path (not of the hidden temporary file), of the same type."""
    if exc.errno is None:
        return type(exc)(f"cannot save to {name!r}: {exc}")
    return type(exc)(exc.errno, f"cannot save to {name!r}: {exc.strerror}")


def read_json(path: str | bytes | os.PathLike[str] | os.PathLike[bytes], file_format: str,
              versions: tuple[int, ...]) -> dict[str, Any]:
    """The JSON object in ``path``, checked to be of ``file_format`` and one of ``versions``.

    Raises
    ------
    ValueError
        If the file is empty, not JSON (truncated, for example), not of that format or version;
        the message names the file and the problem.
    OSError
        If it cannot be read.
    """
    name = os.fsdecode(path)
    with open(path, "rb") as file:
        raw = file.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"cannot load {name!r}: it is not UTF-8 text ({exc.reason} at byte "
                         f"{exc.start}): not a tinynet file") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        problem = "it is empty" if not text.strip() else f"it is not valid JSON ({exc})"
        raise ValueError(f"cannot load {name!r}: {problem}") from None
    except RecursionError:
        raise ValueError(f"cannot load {name!r}: its JSON is nested too deeply") from None
    if not isinstance(document, dict) or document.get("format") != file_format:
        raise ValueError(f"cannot load {name!r}: it is not a {file_format} file "
                         f"(no \"format\": \"{file_format}\")")
    version = document.get("version")
    if isinstance(version, bool) or version not in versions:
        readable = " or ".join(map(str, versions))
        raise ValueError(f"cannot load {name!r}: format version {version!r} is "
                         f"not supported (this tinynet reads version {readable})")
    return document
