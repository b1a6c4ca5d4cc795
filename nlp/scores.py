"""Document scores: promises, claims and a 0–100 lip-service score with its reasons in words.

The lip-service score weighs four signals, each between 0 and 1:
lip service (lip-service claims / claims) × 45, company voice (1 − customer share) × 25,
overpromising (absolute-and-vague promises / promises) × 15, and buzzwords (claims with
buzzword density / claims) × 15. A document with no claims scores on voice and promises only.
"""
from __future__ import annotations

from typing import Any, Iterable


def customer_share(labels: Iterable[str]) -> float | None:
    """Share of customer sentences among sentences that take a side; None when none does."""
    labels = list(labels)
    sided = sum(lab in ("company", "customer") for lab in labels)
    return round(sum(lab == "customer" for lab in labels) / sided, 4) if sided else None


def _of(k: int, n: int, noun: str) -> str:
    """``1 of 3 promises is`` / ``2 of 3 promises are`` / ``1 of 1 promise is``."""
    return f"{k} of {n} {noun}{'' if n == 1 else 's'} {'is' if k == 1 else 'are'}"


WEIGHTS = {"lip_service": 45, "company_voice": 25, "overpromising": 15, "buzzwords": 15}


def document_scores(sentences: list[dict[str, Any]]) -> dict[str, Any]:
    """All document-level scores from the contract's sentence dicts."""
    labels = [s["perspective"] for s in sentences]
    share = customer_share(labels)
    promises = [s["promise"] for s in sentences if s.get("promise")]
    claims = [s["claim"] for s in sentences if s.get("claim")]
    over = [p for p in promises if p["strength"] == "absolute" and p["specificity"] == "vague"]
    cheap = [c for c in claims if not c.get("substantiated", not c["lip_service"])]
    lip = [c for c in claims if c["lip_service"]]
    buzz = [c for c in claims if "buzzword_density" in c["reasons"]]
    n_p, n_c = len(promises), len(claims)
    signals = {
        "lip_service": len(lip) / n_c if n_c else 0.0,
        "company_voice": (1 - share) if share is not None else 0.0,
        "overpromising": len(over) / n_p if n_p else 0.0,
        "buzzwords": len(buzz) / n_c if n_c else 0.0,
    }
    contributions = {k: WEIGHTS[k] * v for k, v in signals.items()}
    words = {
        "lip_service": f"{_of(len(lip), n_c, 'customer-centric claim')} lip service: said from the company's side "
                       f"with no concrete commitment behind {'it' if len(lip) == 1 else 'them'}",
        "company_voice": f"{round(signals['company_voice'] * 100)}% of the sentences that take a side speak from "
                         "the company's perspective, not the customer's",
        "overpromising": f"{_of(len(over), n_p, 'promise')} absolute but vague (overpromising)",
        "buzzwords": f"{_of(len(buzz), n_c, 'claim')} buried in buzzwords",
    }
    top = [words[k] for k, v in sorted(contributions.items(), key=lambda kv: -kv[1]) if v > 0][:3]
    complaint_ps = [s["complaint_p"] for s in sentences if s.get("complaint_p") is not None]
    return {
        "sentences": len(sentences),
        "complaint_p": max(complaint_ps) if complaint_ps else None,
        "complaint_count": sum(1 for s in sentences if s.get("complaint")),
        "complaint_rate": round(sum(1 for s in sentences if s.get("complaint")) / len(complaint_ps), 4)
        if complaint_ps else None,
        "customer_share": share,
        "perspective_counts": {lab: labels.count(lab) for lab in ("company", "customer", "neutral")},
        "promise_count": n_p,
        "promise_share_specific": round(sum(p["specificity"] == "specific" for p in promises) / n_p, 4) if n_p else None,
        "promise_share_absolute": round(sum(p["strength"] == "absolute" for p in promises) / n_p, 4) if n_p else None,
        "overpromising": len(over),
        "claim_count": n_c,
        "lip_service_claims": len(lip),
        "cheap_talk_ratio": round(len(cheap) / n_c, 4) if n_c else None,
        "lip_service_score": round(sum(contributions.values())),
        "lip_service_reasons": top,
    }


#: A claim's verdict as reports show it: (words, kind) by whether it is lip service and whether a
#: specific promise backs it. A claim from the customer's side without one is neither.
VERDICTS = {"lip_service": ("lip service", "lip"), "substantiated": ("substantiated", "ok"),
            "open": ("unsubstantiated", "open")}


def claim_verdict(claim: dict) -> str:
    """``lip_service``, ``substantiated``, or ``open``: a claim from the customer's side with no specific
    promise behind it is not lip service, but not substantiated either (it counts in the cheap-talk ratio)."""
    if claim.get("lip_service"):
        return "lip_service"
    return "substantiated" if claim.get("substantiated", True) else "open"
