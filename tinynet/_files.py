"""Saving and loading networks: small JSON files, written atomically, read with clear errors."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from typing import Any

__all__ = ["read_json", "write_json"]


def write_json(path: str | os.PathLike[str], document: dict[str, Any], indent: int | None = 2) -> None:
    """Write ``document`` to ``path`` as JSON, atomically.

    The text goes to a temporary file in the same directory, is flushed to disk, and the file is
    renamed over ``path``: a crash leaves either the old file or the new one, whole. Floats are
    written as Python's repr, which reads back to exactly the same float.
    """
    text = json.dumps(document, indent=indent) + "\n"
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=".tinynet-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def read_json(path: str | os.PathLike[str], file_format: str, versions: tuple[int, ...]) -> dict[str, Any]:
    """The JSON object in ``path``, checked to be of ``file_format`` and one of ``versions``.

    Raises
    ------
    ValueError
        If the file is empty, not JSON (truncated, for example), not of that format or version;
        the message names the file and the problem.
    OSError
        If it cannot be read.
    """
    name = os.fspath(path)
    with open(path, encoding="utf-8") as file:
        text = file.read()
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        problem = "it is empty" if not text.strip() else f"it is not valid JSON ({exc})"
        raise ValueError(f"cannot load {name!r}: {problem}") from None
    if not isinstance(document, dict) or document.get("format") != file_format:
        raise ValueError(f"cannot load {name!r}: it is not a {file_format} file "
                         f"(no \"format\": \"{file_format}\")")
    version = document.get("version")
    if isinstance(version, bool) or version not in versions:
        readable = " or ".join(map(str, versions))
        raise ValueError(f"cannot load {name!r}: format version {version!r} is "
                         f"not supported (this tinynet reads version {readable})")
    return document
