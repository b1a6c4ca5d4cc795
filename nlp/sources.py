"""Which files a batch run reads: paths, directories and globs expanded in a fixed order.

A directory is walked recursively in sorted order, so the same arguments always give the
same record sequence (what ``--resume`` relies on). A file found in a directory or glob
with a format lipservice cannot read becomes a reject, never a silent skip.
"""
from __future__ import annotations

import glob
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from .errors import E_NO_MATCH, E_NOT_FOUND, E_OUTPUT, E_UNKNOWN_EXT, InputError, UsageError
from .io import STDIN, SUPPORTED_EXTS, Reject, format_of, missing_reason, not_a_file, source_name, unknown_format

log = logging.getLogger(__name__)

GLOB_CHARS = set("*?[")


@dataclass
class InputFile:
    """One input file as the manifest records it."""

    path: str
    bytes: int
    sha256: str = ""

    def to_json(self) -> dict[str, object]:
        return {"path": self.path, "bytes": self.bytes, "sha256": self.sha256}


def supported(path: Path) -> bool:
    return format_of(path)[0] in SUPPORTED_EXTS


def expand_inputs(args: list[str], output: Path | None = None) -> tuple[list[str], list[Reject]]:
    """Files to read, in order, and rejects for unreadable formats met inside directories or globs.

    A named file with an unknown extension, a missing path and a glob matching nothing are
    usage errors (exit 2): the user typed them. Files inside ``output``, the run's own shards
    and rejects, are left out of directories and globs (``batch corpus/ --output corpus/run1``
    reads the same files when resumed), and a named one is a usage error.
    """
    files: list[str] = []
    rejects: list[Reject] = []
    seen: set[Path] = set()
    out = output.resolve() if output is not None else None
    skipped: list[Path] = []

    def add(path: Path, named: bool) -> None:
        key = path.resolve()
        if out is not None and key.is_relative_to(out):
            if named:
                raise UsageError(f"{path}: is inside --output {output}, where this run writes; move it or choose "
                                 "another --output", code=E_OUTPUT)
            skipped.append(path)
            return
        if key in seen:
            log.warning("%s: the same file as an input before it (listed twice, or linked); read once", path)
            return
        seen.add(key)
        if supported(path):
            files.append(str(path))
        elif named:
            raise InputError(f"{path}: {unknown_format(format_of(path)[0])}", code=E_UNKNOWN_EXT)
        else:
            rejects.append(Reject(source_name(str(path)), "file", unknown_format(format_of(path)[0]), E_UNKNOWN_EXT))

    def walk(root: Path) -> None:
        """A directory's files in sorted order; what is there but cannot be read is a reject."""
        for child in sorted(root.rglob("*")):
            problem = not_a_file(child)
            if problem is None:
                if child.is_file():
                    add(child, named=False)
            elif out is None or not child.resolve().is_relative_to(out):
                rejects.append(Reject(source_name(str(child)), "file", problem, E_NOT_FOUND))

    for arg in args:
        if arg == STDIN:
            raise InputError("batch reads files, not stdin; save the text to a file, or use "
                             "`lipservice annotate -`", code=E_NOT_FOUND)
        path = Path(arg)
        if path.is_dir():
            walk(path)
        elif path.is_file():
            add(path, named=True)
        elif GLOB_CHARS & set(arg):
            matches = sorted(glob.glob(arg, recursive=True))
            if not matches:
                raise InputError(f"{arg}: the pattern matches no files", code=E_NO_MATCH)
            for match in matches:
                m = Path(match)
                if m.is_dir():
                    walk(m)
                else:
                    problem = not_a_file(m)
                    if problem:
                        rejects.append(Reject(source_name(match), "file", problem, E_NOT_FOUND))
                    else:
                        add(m, named=False)
        else:
            raise InputError(f"{arg}: {not_a_file(path) or missing_reason(arg)}", code=E_NOT_FOUND)
    if skipped:
        log.warning("left out %d file(s) inside the output directory %s (e.g. %s): they are this run's output",
                    len(skipped), output, skipped[0])
    return files, rejects


def describe_files(files: list[str], checksums: bool = True) -> list[InputFile]:
    """Size and SHA-256 of each input: what the manifest records and ``--resume`` checks."""
    out = []
    for f in files:
        size = Path(f).stat().st_size
        digest = ""
        if checksums:
            h = hashlib.sha256()
            with open(f, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    h.update(chunk)
            digest = h.hexdigest()
        out.append(InputFile(f, size, digest))
    return out
