"""The gap between copy and reviews: which promises complaints contradict, which complaint themes
no promise addresses (unmet expectations), and which customer-centricity claims the reviews belie.

Works on annotate-contract records (company copy and reviews) plus sentence embeddings from the
pipeline's encoder. A complaint contradicts a promise when it is about the promised thing: the
same taxonomy theme and a cosine similarity of at least ``about_similarity``, or, whatever the
themes, a similarity of at least ``strict_similarity``. The verdict rule is in ``verdict``.
"""
from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import asdict, dataclass, fields
from typing import Any, Sequence

import numpy as np

from .errors import E_BAD_SETTING, ConfigError
from .reviews import csv_safe
from .scores import claim_verdict
from .taxonomy import UNASSIGNED
from .themes import DiscoveredTheme

VERDICTS = ("kept", "at_risk", "broken", "untested")
CONTRADICTED = "contradicted_by_complaints"


@dataclass(frozen=True)
class GapSettings:
    """The thresholds of the gap stage (``[gap]`` in config.cfg); documented there."""

    about_similarity: float = 0.33
    strict_similarity: float = 0.4
    at_risk_share: float = 0.01
    broken_share: float = 0.05
    min_complaints: int = 3
    min_mentions: int = 3
    claim_complaint_rate: float = 0.3
    evidence: int = 3
    mention_reviews: int = 2000
    max_matrix_themes: int = 20
    seed: int = 13

    @classmethod
    def from_config(cls, cfg: Any) -> "GapSettings":
        """From a loaded config: ``[gap]`` plus ``[system] seed``; bad values raise ConfigError."""
        section = dict(cfg.get("gap", {}))
        unknown = sorted(set(section) - {f.name for f in fields(cls)})
        if unknown:
            raise ConfigError(f"[gap] has unknown setting(s) {', '.join(unknown)}; allowed: "
                              f"{', '.join(f.name for f in fields(cls) if f.name != 'seed')}", code=E_BAD_SETTING)
        section["seed"] = int(cfg["system"]["seed"])
        try:
            values = {f.name: (int if f.type == "int" else float)(section[f.name])
                      for f in fields(cls) if f.name in section}
        except (TypeError, ValueError) as err:
            raise ConfigError(f"[gap] values must be numbers: {err}", code=E_BAD_SETTING) from None
        return cls(**values).validated()

    def validated(self) -> "GapSettings":
        problems = [f"{name}={getattr(self, name)} (allowed: 0 to 1)" for name in
                    ("about_similarity", "strict_similarity", "at_risk_share", "broken_share", "claim_complaint_rate")
                    if not 0.0 <= getattr(self, name) <= 1.0]
        if self.at_risk_share > self.broken_share:
            problems.append(f"at_risk_share={self.at_risk_share} above broken_share={self.broken_share}")
        if self.about_similarity > self.strict_similarity:
            problems.append(f"about_similarity={self.about_similarity} above strict_similarity="
                            f"{self.strict_similarity}")
        problems += [f"{name}={getattr(self, name)} (allowed: a whole number >= 1)" for name in
                     ("min_complaints", "min_mentions", "evidence", "mention_reviews", "max_matrix_themes")
                     if getattr(self, name) < 1]
        if problems:
            raise ConfigError("[gap] bad setting(s): " + "; ".join(problems) + "; fix them in config.cfg or with "
                              "--set gap.NAME=VALUE", code=E_BAD_SETTING)
        return self


def contradicts(promise_theme: str | None, complaint_theme: str | None, similarity: float,
                settings: GapSettings) -> bool:
    """A complaint contradicts a promise when it is about the promised thing (see the module doc)."""
    if similarity >= settings.strict_similarity:
        return True
    return (promise_theme is not None and promise_theme != UNASSIGNED and promise_theme == complaint_theme
            and similarity >= settings.about_similarity)


def _contradicting(promise_theme: str | None, complaint_themes: np.ndarray, similarities: np.ndarray,
                   settings: GapSettings) -> np.ndarray:
    """``contradicts`` over all complaints at once (a boolean mask)."""
    mask = similarities >= settings.strict_similarity
    if promise_theme is not None and promise_theme != UNASSIGNED:
        mask |= (complaint_themes == promise_theme) & (similarities >= settings.about_similarity)
    return mask


def verdict(reviews: int, share: float, mentions: int, settings: GapSettings) -> str:
    """``broken``: share >= broken_share and at least min_complaints contradicting reviews;
    ``at_risk``: some, with share >= at_risk_share or at least min_complaints; ``untested``: none, and
    fewer than min_mentions reviews talk about the promised thing; else ``kept``."""
    if reviews >= settings.min_complaints and share >= settings.broken_share:
        return "broken"
    if reviews and (share >= settings.at_risk_share or reviews >= settings.min_complaints):
        return "at_risk"
    if not reviews and mentions < settings.min_mentions:
        return "untested"
    return "kept"


def _unique_encode(encoder: Any, texts: Sequence[str], dim: int) -> np.ndarray:
    """Embeddings of ``texts``, each distinct text encoded once (reviews repeat themselves)."""
    if not texts:
        return np.zeros((0, dim), dtype=np.float32)
    uniq = list(dict.fromkeys(texts))
    index = {t: i for i, t in enumerate(uniq)}
    vectors = np.asarray(encoder.encode(uniq), dtype=np.float32)
    return vectors[[index[t] for t in texts]]


def _evidence(rows: list[int], sims: np.ndarray, complaints: list[tuple[int, dict]], reviews: list[dict],
              n: int) -> list[dict[str, Any]]:
    """The ``n`` best distinct quotes among complaint rows ``rows``: most similar to the promise and
    surest to be complaints (similarity × complaint probability), best first."""
    out, seen = [], set()
    for k in sorted(rows, key=lambda k: (-float(sims[k]) * (complaints[k][1].get("complaint_p") or 1.0), k)):
        i, s = complaints[k]
        if s["text"] in seen:
            continue
        seen.add(s["text"])
        out.append({"id": reviews[i]["id"], "text": s["text"], "similarity": round(float(sims[k]), 4)})
        if len(out) == n:
            break
    return out


def _review_ids(rows: list[int], complaints: list[tuple[int, dict]], reviews: list[dict]) -> list[str]:
    return [reviews[i]["id"] for i in sorted({complaints[k][0] for k in rows})]


def _mentions(encoder: Any, P: np.ndarray, reviews: list[dict], settings: GapSettings) -> np.ndarray:
    """Per promise, an estimate of the reviews that talk about the promised thing (any sentence at
    ``about_similarity`` or more), from a seeded sample of at most ``mention_reviews`` reviews."""
    n = len(reviews)
    if not n or not len(P):
        return np.zeros(len(P), dtype=int)
    rng = np.random.default_rng(settings.seed)
    sample = np.sort(rng.permutation(n)[:settings.mention_reviews])
    owner, texts = [], []
    for j, i in enumerate(sample):
        for s in reviews[i]["sentences"]:
            owner.append(j)
            texts.append(s["text"])
    if not texts:
        return np.zeros(len(P), dtype=int)
    hits = (_unique_encode(encoder, texts, P.shape[1]) @ P.T) >= settings.about_similarity
    per_review = np.zeros((len(sample), len(P)), dtype=bool)
    np.logical_or.at(per_review, np.asarray(owner), hits)
    return np.rint(per_review.sum(axis=0) * n / len(sample)).astype(int)


def analyse_gap(copy: list[dict], reviews: list[dict], *, encoder: Any, theme_labels: dict[str, str],
                settings: GapSettings, summary: dict | None = None,
                discovered: list[DiscoveredTheme] | None = None,
                unassigned: list[tuple[int, dict]] | None = None) -> dict[str, Any]:
    """The gap result (promises with verdicts, unmet expectations, claims, matrix, scores) from
    annotated copy and reviews. ``summary``/``discovered``/``unassigned`` come from the reviews
    stage; discovered themes take part in the unmet expectations."""
    dim = int(encoder.dim)
    promises = [(r, s) for r in copy for s in r["sentences"] if s.get("promise")]
    claims = [(r, s) for r in copy for s in r["sentences"] if s.get("claim")]
    complaints = [(i, s) for i, r in enumerate(reviews) for s in r["sentences"] if s.get("complaint")]
    n = len(reviews)
    P = _unique_encode(encoder, [s["text"] for _, s in promises], dim)
    Q = _unique_encode(encoder, [s["text"] for _, s in claims], dim)
    C = _unique_encode(encoder, [s["text"] for _, s in complaints], dim)
    c_theme = [s.get("theme") for _, s in complaints]
    sims = P @ C.T
    mentions = _mentions(encoder, P, reviews, settings)

    promise_rows = []
    themes_arr = np.array(c_theme, dtype=object)
    answered: set[int] = set()  # complaints some promise is about: they are not unmet expectations
    for p, (rec, s) in enumerate(promises):
        theme = s["promise"].get("theme")
        rows = np.flatnonzero(_contradicting(theme, themes_arr, sims[p], settings)).tolist()
        answered.update(rows)
        ids = _review_ids(rows, complaints, reviews)
        share = round(len(ids) / n, 4) if n else 0.0
        talk = max(int(mentions[p]), len(ids))  # a contradicting review talks about the promise too
        promise_rows.append({
            "text": s["text"], "source": rec.get("source"), "id": rec["id"], "theme": theme,
            "theme_label": theme_labels.get(theme) if theme else None,
            "specificity": s["promise"].get("specificity"), "strength": s["promise"].get("strength"),
            "verdict": verdict(len(ids), share, talk, settings) if n else "untested",
            "complaints": len(rows), "reviews": len(ids), "share": share, "mentions": talk, "ids": ids,
            "evidence": _evidence(rows, sims[p], complaints, reviews, settings.evidence)})

    unmet = _unmet(promises, P, C, complaints, reviews, theme_labels, settings, discovered, unassigned, answered)
    complaint_rate = (sum(any(s.get("complaint") for s in r["sentences"]) for r in reviews) / n) if n else None
    as_promise = {id(s): row for (_, s), row in zip(promises, promise_rows) if row["theme"]}
    claim_rows = _claims(claims, Q, C, complaints, reviews, complaint_rate, settings, as_promise)
    matrix = _matrix(promises, sims, c_theme, theme_labels, settings)
    verdicts = Counter(r["verdict"] for r in promise_rows)
    tested = len(promise_rows) - verdicts["untested"]
    unmet_complaints = sum(u["complaints"] for u in unmet)
    scores = {
        "promises": len(promise_rows), **{v: verdicts[v] for v in VERDICTS},
        "claims": len(claim_rows), "lip_service_claims": sum(c["lip_service"] for c in claim_rows),
        "reviews": n, "complaint_rate": None if complaint_rate is None else round(complaint_rate, 4),
        "unmet_themes": len(unmet),
        "unmet_complaint_share": round(unmet_complaints / len(complaints), 4) if complaints else None,
        "gap_score": round(100 * (verdicts["broken"] + 0.5 * verdicts["at_risk"]) / tested) if tested else None,
    }
    return {"promises": promise_rows, "unmet": unmet, "claims": claim_rows, "matrix": matrix,
            "thresholds": {k: v for k, v in asdict(settings).items() if k != "seed"}, "scores": scores,
            "reviews_summary": summary}


def _unmet(promises: list, P: np.ndarray, C: np.ndarray, complaints: list[tuple[int, dict]], reviews: list[dict],
           theme_labels: dict[str, str], settings: GapSettings, discovered: list[DiscoveredTheme] | None,
           unassigned: list[tuple[int, dict]] | None, answered: set[int] = frozenset()) -> list[dict[str, Any]]:
    """Complaint themes no promise addresses, most complaints first. A taxonomy theme is addressed
    by a promise of that theme, or by a promise of no theme similar to its complaints' centroid; a
    discovered theme by any promise similar to its centroid. Complaints in ``answered`` (a promise's
    contradicting ones, whatever their theme) are left out of them."""
    n = len(reviews)
    promised = {s["promise"].get("theme") for _, s in promises}
    themeless = [p for p, (_, s) in enumerate(promises) if s["promise"].get("theme") in (None, UNASSIGNED)]

    def about(rows: list[int], among: Sequence[int]) -> bool:
        """Whether a promise of ``among`` is about these complaints: similar to their centroid."""
        centre = C[rows].mean(axis=0)
        centre /= np.linalg.norm(centre) or 1.0
        return bool(len(among)) and float((P[list(among)] @ centre).max()) >= settings.about_similarity

    groups: list[tuple[str, str, str, list[int]]] = []
    by_theme: dict[str, list[int]] = {}
    for k, (_, s) in enumerate(complaints):
        theme = s.get("theme")
        if theme and theme != UNASSIGNED:
            by_theme.setdefault(theme, []).append(k)
    groups += [(t, theme_labels.get(t, t), "taxonomy", rows) for t, rows in by_theme.items()
               if t not in promised and not about(rows, themeless)]
    if discovered and unassigned:
        position = {(i, s["start"]): k for k, (i, s) in enumerate(complaints)}
        for d in discovered:
            rows = [position[(unassigned[m][0], unassigned[m][1]["start"])] for m in d.members]
            if not about(rows, range(len(P))):
                groups.append((d.id, d.label, "discovered", rows))
    out = []
    for theme, label, source, rows in groups:
        rows = [k for k in rows if k not in answered]
        if not rows:
            continue
        ids = _review_ids(rows, complaints, reviews)
        ranked = sorted(rows, key=lambda k: (-(complaints[k][1].get("complaint_p") or 0.0), k))
        quotes, seen = [], set()
        for k in ranked:  # distinct texts: a complaint written twice is quoted once
            if len(quotes) == settings.evidence:
                break
            if complaints[k][1]["text"] not in seen:
                seen.add(complaints[k][1]["text"])
                quotes.append(k)
        out.append({"theme": theme, "label": label, "source": source, "complaints": len(rows), "reviews": len(ids),
                    "share": round(len(ids) / n, 4) if n else 0.0, "ids": ids,
                    "evidence": [{"id": reviews[complaints[k][0]]["id"], "text": complaints[k][1]["text"]}
                                 for k in quotes]})
    out.sort(key=lambda u: (-u["complaints"], u["theme"]))
    return out


def _claims(claims: list, Q: np.ndarray, C: np.ndarray, complaints: list[tuple[int, dict]], reviews: list[dict],
            complaint_rate: float | None, settings: GapSettings, as_promise: dict[int, dict] | None = None
            ) -> list[dict[str, Any]]:
    """Each claim with its verdict; reviews contradict it broadly when the complaint rate reaches
    ``claim_complaint_rate`` or the complaints about the claim itself reach ``broken_share``. A claim that is
    also a promise with a theme (``as_promise``: its promise row, by the sentence's ``id``) takes its promise's
    verdict, contradicted when the promise is broken: refund complaints made "No hidden fees: …" contradicted
    while its promise stood untested beside it."""
    n = len(reviews)
    out = []
    sims = Q @ C.T
    for q, (rec, s) in enumerate(claims):
        promise = (as_promise or {}).get(id(s))
        rows: list[int] = []
        if promise is not None:  # its promise's verdict and evidence, on the same complaints
            contradicted = promise["verdict"] == "broken"
        else:
            rows = np.flatnonzero(sims[q] >= settings.strict_similarity).tolist()
            own_share = len(_review_ids(rows, complaints, reviews)) / n if n else 0.0
            broad = complaint_rate is not None and complaint_rate >= settings.claim_complaint_rate
            contradicted = bool(n) and (broad or (len(rows) >= settings.min_complaints
                                                  and own_share >= settings.broken_share))
        reasons = list(s["claim"].get("reasons") or [])
        if contradicted and CONTRADICTED not in reasons:
            reasons.append(CONTRADICTED)
        if contradicted and not rows and promise is None:  # broadly contradicted: the complaints most like it
            rows = list(range(len(complaints)))
        out.append({"text": s["text"], "source": rec.get("source"), "id": rec["id"],
                    "lip_service": bool(s["claim"].get("lip_service")) or contradicted,
                    "substantiated": bool(s["claim"].get("substantiated", not s["claim"].get("lip_service"))),
                    "reasons": reasons,
                    "evidence": ([] if not contradicted else promise["evidence"] if promise is not None
                                 else _evidence(rows, sims[q], complaints, reviews, settings.evidence))})
    return out


def _matrix(promises: list, sims: np.ndarray, c_theme: list[str | None], theme_labels: dict[str, str],
            settings: GapSettings) -> dict[str, Any]:
    """Promise × theme: complaint sentences of each theme about each promise (similarity at least
    ``about_similarity``), and which cells count as contradicting (the promise's own theme)."""
    volume = Counter(t or UNASSIGNED for t in c_theme)
    themes = [t for t, _ in sorted(volume.items(), key=lambda kv: (-kv[1], kv[0]))][:settings.max_matrix_themes]
    col = {t: j for j, t in enumerate(themes)}
    counts = np.zeros((len(promises), len(themes)), dtype=int)
    about = sims >= settings.about_similarity
    for k, t in enumerate(c_theme):
        j = col.get(t or UNASSIGNED)
        if j is not None:
            counts[:, j] += about[:, k]
    own = [s["promise"].get("theme") for _, s in promises]
    return {"promises": [s["text"] for _, s in promises], "themes": themes,
            "labels": [theme_labels.get(t, "Unassigned" if t == UNASSIGNED else t) for t in themes],
            "counts": counts.tolist(), "contradicting": [[t == o for t in themes] for o in own]}


def gap_csv(result: dict[str, Any]) -> str:
    """Promises, unmet expectations and claims as one CSV (a ``section`` column) that opens safely in
    a spreadsheet: no cell can start a formula."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["section", "text", "theme", "verdict", "complaints", "reviews", "share", "mentions", "reasons",
                "evidence_1", "evidence_2", "evidence_3", "theme_source"])
    for p in result["promises"]:
        w.writerow(_cells("promise", p["text"], p["theme"], p["verdict"], p["complaints"], p["reviews"], p["share"],
                          p["mentions"], "", p["evidence"]) + ["taxonomy" if p["theme"] else ""])
    for u in result["unmet"]:  # the verdict column holds verdicts only: where the theme comes from is its own
        w.writerow(_cells("unmet", u["label"], u["theme"], "unmet", u["complaints"], u["reviews"], u["share"],
                          "", "", u["evidence"]) + [u["source"]])
    for c in result["claims"]:
        verdict = {"open": "unsubstantiated"}.get(claim_verdict(c), claim_verdict(c))  # as reports show it
        w.writerow(_cells("claim", c["text"], "", verdict, "", "", "", "", ";".join(c["reasons"]),
                          c["evidence"]) + [""])
    return buf.getvalue()


def _cells(*values: Any) -> list[str]:
    *head, evidence = values
    quotes = [e["text"] for e in evidence][:3]
    return [csv_safe(v) for v in (*head, *quotes, *[""] * (3 - len(quotes)))]


def gap_report(nlp: Any, copy: list[dict], reviews: list[dict], cfg: Any, screen: Any = None) -> dict[str, Any]:
    """The whole gap stage with the config's settings: the reviews stage, then ``analyse_gap``; the
    result also carries the copy's audit results (warned about by ``screen``, a language screen) so one
    report can show everything."""
    from .audit import audit_result
    from .language import language_warnings
    from .reviews import review_report, theme_labels

    summary, found, unassigned = review_report(nlp, reviews, cfg, screen)
    result = analyse_gap(copy, reviews, encoder=nlp.get_pipe("complaints").encoder, theme_labels=theme_labels(cfg),
                         settings=GapSettings.from_config(cfg), summary=summary, discovered=found,
                         unassigned=unassigned)
    result["copy"] = [audit_result(r, int(cfg["lipservice"]["rewrite_top"]), language_warnings(screen, r))
                      for r in copy]
    return result
