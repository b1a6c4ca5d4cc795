"""Which files a batch run reads: paths, directories and globs expanded in a fixed order.

A directory is walked recursively in sorted order, so the same arguments always give the
same record sequence (what ``--resume`` relies on). A file found in a directory or glob
with a format lipservice cannot read becomes a reject, never a silent skip.

Directories and globs are expanded alike: neither follows a symbolic link to a directory (a
link to ``..`` would read everything above; it is a reject), and neither reads hidden entries
(names starting with ``.``, such as ``.git``), as the shell's globs do not; how many were left
out is logged, and a hidden file or directory named, or matched by a pattern part that starts
with ``.``, is read.
"""
from __future__ import annotations

import fnmatch
import glob
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import E_NO_MATCH, E_NOT_FOUND, E_OUTPUT, E_UNKNOWN_EXT, InputError, UsageError
from .io import STDIN, SUPPORTED_EXTS, Reject, format_of, missing_reason, not_a_file, source_name, unknown_format
from .shards import PLAN_FILE

log = logging.getLogger(__name__)

GLOB_CHARS = set("*?[")


@dataclass
class InputFile:
    """One input file as the manifest records it."""

    path: str
    bytes: int
    sha256: str = ""
    mtime_ns: int = 0  # not in the manifest's record of it: a touched file with the same bytes is the same input

    def to_json(self) -> dict[str, object]:
        """As run.json and manifest.json record it: a name's bytes that are not UTF-8 shown as ``\\xe9``, as
        the shards' sources show them (JSON cannot hold them as they are)."""
        return {"path": source_name(self.path), "bytes": self.bytes, "sha256": self.sha256}


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
    seen: dict[Path, Path] = {}  # each file read, as it was first named
    out = output.resolve() if output is not None else None
    skipped: list[Path] = []
    hidden: list[Path] = []
    runs: list[Path] = []  # folders under a walked one that hold another batch run's output
    folders: dict[Path, bool] = {}  # whether a folder a glob met holds a run: asked once a folder, not once a file

    def run_folder(d: Path) -> bool:
        if d not in folders:
            folders[d] = d.is_dir() and not d.is_symlink() and is_run_folder(d)
        return folders[d]

    def add(path: Path, named: bool) -> None:
        key = path.resolve()
        if out is not None and key.is_relative_to(out):
            if named:
                raise UsageError(f"{path}: is inside --output {output}, where this run writes; move it or choose "
                                 "another --output", code=E_OUTPUT)
            skipped.append(path)
            return
        if key in seen:
            first = seen[key]
            if str(first) == str(path):
                log.warning("%s: listed twice; read once", path)
            else:  # a link, or the same file named otherwise: its records carry the name read first
                log.warning("%s: the same file as %s, read before it (a link, or named twice); read once, its "
                            "records named %s", path, first, first)
            return
        seen[key] = path
        if supported(path):
            files.append(str(path))
        elif named:
            raise InputError(f"{path}: {unknown_format(format_of(path)[0])}", code=E_UNKNOWN_EXT)
        else:
            rejects.append(Reject(source_name(str(path)), "file", unknown_format(format_of(path)[0]), E_UNKNOWN_EXT))

    def entry(child: Path) -> None:
        """A file found in a directory or glob: read, or a reject saying why not."""
        problem = not_a_file(child)
        if problem is None:
            if child.is_file():
                add(child, named=False)
        elif out is None or not child.resolve().is_relative_to(out):
            rejects.append(Reject(source_name(str(child)), "file", problem, E_NOT_FOUND))

    def walk(root: Path) -> None:
        """A directory's files in sorted order (a link to a directory is not followed); what is there but
        cannot be read is a reject; hidden entries are left out and counted."""
        for child, problem in _walk(root, hidden, runs):
            if problem:
                rejects.append(Reject(source_name(str(child)), "file", problem, E_NOT_FOUND))
            else:
                entry(child)

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
            matches = sorted(_glob(arg, hidden))
            if not matches:
                raise InputError(f"{arg}: the pattern matches no files", code=E_NO_MATCH)
            walked: list[str] = []
            top = _literal_part(arg)
            for match in matches:
                if any(match.startswith(w) for w in walked):
                    continue  # `d/**` matches d/ and all under it: the walk of d/ read them (or left it out)
                m = Path(match)
                run = next((d for d in [m, *m.parents] if d != top and top in d.parents and run_folder(d)), None)
                if run is not None:  # an earlier run's output, matched by the pattern, or a file in it
                    if run not in runs:
                        runs.append(run)
                    walked.append(os.path.join(str(run), ""))
                elif m.is_dir() and not m.is_symlink():
                    walk(m)
                    walked.append(os.path.join(match, ""))
                else:
                    entry(m)
        else:
            raise InputError(f"{arg}: {not_a_file(path) or missing_reason(arg)}", code=E_NOT_FOUND)
    if skipped:
        log.warning("left out %d file(s) inside the output directory %s (e.g. %s): they are this run's output",
                    len(skipped), output, skipped[0])
    if runs:
        log.warning("left out %d folder(s) holding another batch run's output (e.g. %s, which has a %s): its shards "
                    "and rejects are no input; name a file in it to read it", len(runs), runs[0], PLAN_FILE)
    hidden = list(dict.fromkeys(hidden))  # a glob and the walk of what it matched may both meet one
    if hidden:
        log.warning("left out %d hidden file(s) or folder(s) (e.g. %s), as the shell's globs do; name one to read "
                    "it", len(hidden), hidden[0])
    return files, rejects


def _hidden(name: str) -> bool:
    return name.startswith(".")


def _literal_part(pattern: str) -> Path:
    """The folder a glob pattern names before its first wildcard: ``in/*/x.jsonl`` → ``in``."""
    parts = Path(pattern).parts
    k = next((i for i, part in enumerate(parts) if glob.has_magic(part)), len(parts))
    return Path(*parts[:k]) if k else Path(".")


def is_run_folder(folder: Path) -> bool:
    """Whether ``folder`` holds a batch run's output: a ``run.json`` that is a run's plan (a file of the same
    name that is a user's data is input like any other)."""
    plan = folder / PLAN_FILE
    try:
        if not plan.is_file() or plan.stat().st_size > 2**26:
            return False
        data = json.loads(plan.read_bytes())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and {"version", "inputs", "config_sha256"} <= set(data)


def _walk(root: Path, hidden: list[Path], runs: list[Path] | None = None) -> list[tuple[Path, str | None]]:
    """Every entry under ``root`` but directories, depth first in sorted order (the order of
    ``sorted(root.rglob("*"))``), never into a link to a directory, each with None or why a folder
    could not be listed; hidden entries go to ``hidden`` instead, a hidden folder as one, not walked.
    A folder below ``root`` that holds a batch run's ``run.json`` goes to ``runs``, not walked: an earlier
    run's output inside the corpus was read as input, and a resume of that run then found other inputs."""
    found: list[tuple[Path, str | None]] = []
    stack: list[Path | os.DirEntry] = [root]  # a stack, not recursion: a tree of any depth is walked
    while stack:
        item = stack.pop()
        if isinstance(item, Path) and item != root and runs is not None and is_run_folder(item):
            runs.append(item)
        elif isinstance(item, Path):  # a folder to list: its entries go on the stack, last name first
            try:
                entries = sorted(os.scandir(item), key=lambda e: e.name)
            except OSError as err:
                found.append((item, f"a folder that cannot be listed ({err.strerror or err})"))
                continue
            stack.extend((item / e.name if e.is_dir(follow_symlinks=False) and not _hidden(e.name) else e)
                         for e in reversed(entries))
        elif _hidden(item.name):
            hidden.append(Path(item.path))
        else:
            found.append((Path(item.path), None))
    return found


def _glob(pattern: str, hidden: list[Path] | None = None) -> list[str]:
    """What ``glob.glob(pattern, recursive=True)`` matches, without following links to directories:
    a link matched by a part of the pattern is a match (a reject, if it points to a directory), never
    a way into what it points to, at any depth and for ``**`` too. Hidden names match only a pattern
    part that starts with ``.``, as in ``glob``; those a part would match otherwise go to ``hidden``."""
    parts = Path(pattern).parts
    literal = 0
    while literal < len(parts) and not glob.has_magic(parts[literal]):
        literal += 1
    base = os.path.join(*parts[:literal]) if literal else ""
    out: list[str] = []

    def names(directory: str, part: str) -> list[str]:
        try:
            entries = sorted(e.name for e in os.scandir(directory or "."))
        except OSError:
            return []
        matched = fnmatch.filter(entries, part)
        if hidden is not None and not _hidden(part):
            hidden.extend(Path(directory, n) for n in matched if _hidden(n))
        return [n for n in matched if not _hidden(n) or _hidden(part)]

    def below(directory: str) -> list[str]:
        """Every entry under ``directory`` but hidden ones, in pre-order, never through a link."""
        def children(folder: str) -> list[str]:
            return [os.path.join(folder, n) for n in reversed(names(folder, "*"))]

        found, stack = [], children(directory)  # a stack, not recursion: a tree of any depth
        while stack:
            path = stack.pop()
            found.append(path)
            if os.path.isdir(path) and not os.path.islink(path):
                stack.extend(children(path))
        return found

    def match(directory: str, rest: tuple[str, ...]) -> None:
        if not rest:
            out.append(directory)
            return
        part, tail = rest[0], rest[1:]
        if part == "**":
            if not tail:
                if directory:
                    out.append(os.path.join(directory, ""))
                out.extend(below(directory))
            else:
                match(directory, tail)  # zero folders
                for path in below(directory):
                    if os.path.isdir(path) and not os.path.islink(path):
                        match(path, tail)
            return
        candidates = names(directory, part) if glob.has_magic(part) else (
            [part] if os.path.lexists(os.path.join(directory, part)) else [])
        for name in candidates:
            path = os.path.join(directory, name)
            if not tail:
                out.append(path)
            elif os.path.isdir(path) and (not os.path.islink(path) or not glob.has_magic(part)):
                match(path, tail)  # a link is followed only when the pattern names it

    if base and not os.path.isdir(base):
        return []
    match(base, parts[literal:])
    return list(dict.fromkeys(out))


def describe_files(files: list[str], checksums: bool = True) -> list[InputFile]:
    """Size and SHA-256 of each input: what the manifest records and ``--resume`` checks; and the
    modification time before it was hashed, which :func:`changed_files` compares at the end."""
    out = []
    for f in files:
        st = Path(f).stat()
        size, mtime = st.st_size, st.st_mtime_ns
        digest = ""
        if checksums:
            h = hashlib.sha256()
            with open(f, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    h.update(chunk)
            digest = h.hexdigest()
        out.append(InputFile(f, size, digest, mtime))
    return out


def changed_files(files: list[InputFile]) -> list[str]:
    """The inputs whose size or modification time differ from when :func:`describe_files` saw them
    (or that are gone): their checksum may describe other content than the run read. One stat each."""
    changed = []
    for f in files:
        try:
            st = os.stat(f.path)
        except OSError:
            changed.append(f.path)
            continue
        if st.st_size != f.bytes or (f.mtime_ns and st.st_mtime_ns != f.mtime_ns):
            changed.append(f.path)
    return changed
