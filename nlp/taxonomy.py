"""The editable theme taxonomy (``corpora/taxonomy.yaml``), validated on load.

Shared by promises and complaints: each theme has an id, a label, a description and seed
phrases. Errors name the file, the theme and what to fix. A sentence is matched to the themes
here too, by similarity (``ThemeMatcher``) or by the trained theme head (``decide_themes``), so
that a promise and a complaint about the same thing get the same theme.
"""
from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from .errors import ConfigError

if TYPE_CHECKING:
    from .encoder import SentenceEncoder

log = logging.getLogger(__name__)

E_TAXONOMY = "E310"
#: The theme of a sentence the theme head is not sure enough of (never a taxonomy id).
UNASSIGNED = "unassigned"
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

    @property
    def digest(self) -> str:
        """A checksum of what the theme is matched against, recorded by training (``theme_digests_``) so that
        a theme whose wording changed since, or two themes whose ids were swapped, are noticed. The seed
        phrases are taken in sorted order: the theme's centroid is their mean, which reordering leaves as it is."""
        return hashlib.sha1("\n".join([self.description, *sorted(self.seeds)]).encode("utf-8")).hexdigest()[:12]


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


def save_taxonomy(themes: Sequence[Theme], path: str | Path) -> None:
    """Write themes as a taxonomy file ``load_taxonomy`` reads back to the same themes."""
    import yaml

    data = {"themes": [{"id": t.id, "label": t.label, "description": t.description, "seeds": list(t.seeds)}
                       for t in themes]}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000), encoding="utf-8")


class ThemeMatcher:
    """Nearest taxonomy theme by cosine similarity to the theme's description and seeds."""

    def __init__(self, themes: list[Theme], encoder: SentenceEncoder, min_similarity: float) -> None:
        self.themes = themes
        self.encoder = encoder
        self.min_similarity = min_similarity
        self._centroids: np.ndarray | None = None

    def centroids(self) -> np.ndarray:
        if self._centroids is None:
            rows = []
            for theme in self.themes:
                vecs = self.encoder.encode(theme.prompt_texts)
                c = vecs.mean(axis=0)
                rows.append(c / (np.linalg.norm(c) or 1.0))
            self._centroids = np.stack(rows)
        return self._centroids

    def assign(self, embeddings: np.ndarray) -> list[tuple[str | None, float]]:
        """(theme id or None when below ``min_similarity``, similarity) per row."""
        if not len(embeddings):
            return []
        sims = embeddings @ self.centroids().T
        best = sims.argmax(axis=1)
        return [(self.themes[k].id if sims[i, k] >= self.min_similarity else None, round(float(sims[i, k]), 4))
                for i, k in enumerate(best)]


def theme_matrix(texts: Sequence[str], encoder: SentenceEncoder, matcher: ThemeMatcher) -> np.ndarray:
    """[embedding | cosine similarity to each theme] per sentence: the theme head's input."""
    emb = encoder.encode(list(texts))
    return np.hstack([emb, emb @ matcher.centroids().T])


def check_theme_head(head: Any, themes: Sequence[Theme]) -> None:
    """Refuse a theme head that gives themes the taxonomy has not (E310): a theme renamed since training
    was still given its old name; a theme added, removed or renamed, named from the themes training recorded
    (``themes_``), before the component's count of columns could only say that their number changed."""
    ids = {t.id for t in themes}
    trained = {str(t) for t in getattr(head, "themes_", ())}  # recorded by training (older heads have none)
    if trained and trained != ids:
        added, removed = sorted(ids - trained), sorted(trained - ids)
        raise ConfigError(f"the taxonomy is not the one the theme head was trained on (new: {', '.join(added) or '-'}; "
                          f"gone: {', '.join(removed) or '-'}); retrain it with `lipservice train --task complaints`, "
                          "or undo the change", code=E_TAXONOMY)
    gone = sorted(str(c) for c in head.classes_ if str(c) not in ids)
    if gone:
        raise ConfigError(f"the taxonomy is not the one the theme head was trained on: it gives themes this one "
                          f"has not ({', '.join(gone)}); retrain it with `lipservice train --task complaints`, or "
                          "undo the change", code=E_TAXONOMY)
    digests = getattr(head, "theme_digests_", None) or {}  # recorded by training (older heads have none)
    reworded = tuple(sorted(t.id for t in themes if t.id in digests and digests[t.id] != t.digest))
    if reworded and reworded not in _WARNED:
        _WARNED.add(reworded)  # once a process, not once per batch or per component that loads the head
        log.warning("[%s] the description or seed phrases of %s changed since the theme head was trained (or their "
                    "ids were swapped); it still reads them as trained: retrain it with `lipservice train --task "
                    "complaints`, or undo the change", E_TAXONOMY, ", ".join(reworded))


_WARNED: set[tuple[str, ...]] = set()


def aligned_to_head(head: Any, themes: Sequence[Theme], X: np.ndarray) -> np.ndarray:
    """Rows of :func:`theme_matrix` with the similarity columns in the order of the taxonomy the head was
    trained with (``themes_``, recorded by training): themes only reordered since then are read as before,
    where the head used to read each column as another theme's, in silence."""
    check_theme_head(head, themes)
    trained, now = [str(t) for t in getattr(head, "themes_", ())], [t.id for t in themes]
    if not trained or trained == now:
        return X
    k = len(now)
    return np.hstack([X[:, :-k], X[:, -k:][:, [now.index(t) for t in trained]]])


def decide_themes(head: Any, matcher: ThemeMatcher, min_p: float, X: np.ndarray) -> list[tuple[str, float, str | None]]:
    """The head's best theme when it is likely enough, else ``unassigned`` and why (rows of :func:`theme_matrix`)."""
    X = aligned_to_head(head, matcher.themes, X)  # checks the themes first
    probs = head.predict_proba(X)
    sims = X[:, -len(matcher.themes):]
    out = []
    for row, sim in zip(probs, sims):
        k = int(np.argmax(row))
        theme, p = str(head.classes_[k]), round(float(row[k]), 4)
        if p >= min_p:
            out.append((theme, p, None))
        elif float(sim.max()) < matcher.min_similarity:
            out.append((UNASSIGNED, p, f"like no taxonomy theme (best similarity {float(sim.max()):.2f} < "
                                        f"{matcher.min_similarity})"))
        else:
            out.append((UNASSIGNED, p, f"no theme is likely enough (best: {theme} p={p:.2f} < {min_p})"))
    return out
