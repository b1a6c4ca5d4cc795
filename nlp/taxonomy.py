"""The editable theme taxonomy (``corpora/taxonomy.yaml``), validated on load.

Shared by promises and complaints: each theme has an id, a label, a description and seed
phrases. Errors name the file, the theme and what to fix.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError

E_TAXONOMY = "E310"
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Theme:
    id: str
    label: str
    description: str
    seeds: tuple[str, ...]

    @property
    def prompt_texts(self) -> list[str]:
        """What the theme is matched against: its description and every seed phrase."""
        return [self.description, *self.seeds]


def load_taxonomy(path: str | Path) -> list[Theme]:
    """Read and validate a taxonomy file; raise ConfigError with every problem found."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: taxonomy file not found; point [paths] taxonomy at a YAML file", code=E_TAXONOMY)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        where = getattr(err, "problem_mark", None)
        pos = f"line {where.line + 1}: " if where is not None else ""
        raise ConfigError(f"{path}: {pos}not valid YAML ({str(err).splitlines()[0]})", code=E_TAXONOMY) from None
    if not isinstance(data, dict) or not isinstance(data.get("themes"), list) or not data["themes"]:
        raise ConfigError(f"{path}: expected a mapping with a non-empty 'themes:' list", code=E_TAXONOMY)
    problems: list[str] = []
    themes: list[Theme] = []
    seen: set[str] = set()
    for n, raw in enumerate(data["themes"], start=1):
        if not isinstance(raw, dict):
            problems.append(f"theme #{n}: not a mapping")
            continue
        tid = raw.get("id")
        name = f"theme #{n} ({tid!r})"
        if not isinstance(tid, str) or not _ID.match(tid):
            problems.append(f"{name}: id must be lowercase_with_underscores")
        elif tid in seen or tid == "unassigned":
            problems.append(f"{name}: id is {'reserved' if tid == 'unassigned' else 'used twice'}")
        seen.add(str(tid))
        for key in ("label", "description"):
            if not isinstance(raw.get(key), str) or not raw[key].strip():
                problems.append(f"{name}: missing {key}")
        seeds = raw.get("seeds")
        if not isinstance(seeds, list) or len(seeds) < 3 or not all(isinstance(s, str) and s.strip() for s in seeds):
            problems.append(f"{name}: seeds must be a list of at least 3 phrases")
            seeds = []
        unknown = set(raw) - {"id", "label", "description", "seeds"}
        if unknown:
            problems.append(f"{name}: unknown keys {', '.join(sorted(unknown))} (allowed: id, label, description, seeds)")
        themes.append(Theme(str(tid), str(raw.get("label", "")), str(raw.get("description", "")),
                            tuple(str(s) for s in seeds)))
    if problems:
        raise ConfigError(f"{path}: " + "; ".join(problems), code=E_TAXONOMY)
    return themes
