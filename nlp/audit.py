"""``lipservice audit``: one document's perspective profile and the sentences to rewrite first."""
from __future__ import annotations

from typing import Any


def audit_result(record: dict[str, Any], top: int = 5, warnings: list[str] | None = None) -> dict[str, Any]:
    """From an annotate-contract record: scores plus the most company-centred sentences, and
    ``warnings`` about the document (a language the models do not read).

    Sentences are ranked by p(company) among those labelled company, so the rewrite list
    starts with the sentences the model is surest talk about the company, not the customer.
    """
    company = [s for s in record["sentences"] if s["perspective"] == "company"]
    company.sort(key=lambda s: (-s["perspective_p"], s["start"]))
    return {
        "source": record["source"],
        "id": record["id"],
        "kind": record["kind"],
        "warnings": list(warnings or []),
        "scores": record["scores"],
        "sentences": [{k: s[k] for k in ("text", "start", "end", "perspective", "perspective_p")}
                      for s in record["sentences"]],
        "promises": [{**s["promise"], "start": s["start"],
                      "overpromising": s["promise"]["strength"] == "absolute" and s["promise"]["specificity"] == "vague"}
                     for s in record["sentences"] if s.get("promise")],
        "claims": [{**s["claim"], "start": s["start"]} for s in record["sentences"] if s.get("claim")],
        "rewrite_first": [{"text": s["text"], "start": s["start"], "perspective_p": s["perspective_p"]}
                          for s in company[:top]],
    }


#: The scores two audits of the same copy are compared by (the demo's company and customer voice).
COMPARED_SCORES = ("customer_share", "lip_service_score", "promise_count")


def compare_audits(before: dict[str, Any], after: dict[str, Any],
                   labels: tuple[str, str] = ("company voice", "customer voice")) -> dict[str, Any]:
    """Two audits side by side, for the terminal and the HTML page alike: each one's label and source,
    and per compared score its two values (a share is None when no sentence takes a side)."""
    return {"labels": list(labels), "sources": [before["source"], after["source"]],
            "scores": {k: [before["scores"][k], after["scores"][k]] for k in COMPARED_SCORES}}
