"""What the generators share: write their files, or (``--check``) say which are not what they write."""

import sys


def write_or_check(files, root, tool, same=None):
    """Write ``files`` (path -> text), or with ``--check`` on the command line print which of them
    differ from their text (by ``same(written, wanted)``, default: the same text); returns the exit
    status (1 if any is stale)."""
    same = same or (lambda written, wanted: written == wanted)
    if "--check" in sys.argv:
        stale = [path for path, text in files.items()
                 if not path.exists() or not same(path.read_text(encoding="utf-8"), text)]
        for path in stale:
            print(f"{path.relative_to(root)} is not what tools/{tool} writes: run it")
        if not stale:
            print(", ".join(str(path.relative_to(root)) for path in files) + " up to date")
        return 1 if stale else 0
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(root)}")
    return 0
