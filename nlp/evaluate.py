"""``lipservice evaluate``: held-out and real-data measurements, always beside a baseline.

Real data (read from ``../shared/data``, evaluation only, never copied or trained on):
- twcs-customer-support: company replies vs customer tweets, authorship as the label;
- company-mission-descriptions: a sample of Fortune 500 mission statements the project
  labelled (``corpora/real_labels/``), matched to the data by index and text checksum.
"""
from __future__ import annotations

import csv
import hashlib
import json
import logging
from pathlib import Path
from typing import Iterable

import numpy as np
from spacy.language import Language
from spacy.tokens import Doc

from .baselines import pronoun_baseline
from .corpus import load_perspective_corpus
from .errors import E_BAD_LABELS, E_NOT_FOUND, InputError, UsageError
from .heads import PERSPECTIVE_LABELS
from .io import ReadOptions, Record, Reject, check_inputs, read_inputs
from .metrics import classification_metrics
from .pipeline import PROJECT_ROOT, base_pipes, project_path
from .train import perspective_inputs

log = logging.getLogger(__name__)

SIDES = ("company", "customer")
DEFAULT_SHARED = PROJECT_ROOT.parent / "shared" / "data"
MISSION_LABELS = PROJECT_ROOT / "corpora" / "real_labels" / "fortune500_mission_perspective.jsonl"


def document_side(doc: Doc) -> str:
    """company or customer for a whole document: the sign of mean p(customer) − p(company)."""
    diffs = [s._.perspective_probs["customer"] - s._.perspective_probs["company"]
             for s in doc.sents if s._.perspective_probs]
    return "customer" if diffs and float(np.mean(diffs)) > 0 else "company"


def evaluate_split(nlp: Language, cfg) -> dict:
    """Sentence-level metrics of the loaded head on the project's test split, with the baseline."""
    examples = [e for e in load_perspective_corpus(project_path(cfg["training"]["perspective"]["corpus"]))
                if e.split == "test"]
    return evaluate_sentences(nlp, cfg, [e.text for e in examples], [e.label for e in examples])


def evaluate_sentences(nlp: Language, cfg, texts: list[str], labels: list[str]) -> dict:
    comp = nlp.get_pipe("perspective")
    head = comp._require_head()
    with nlp.select_pipes(enable=base_pipes(nlp, cfg)):
        X = perspective_inputs(cfg, texts, base=nlp, encoder=comp.encoder)
    return {"model": classification_metrics(labels, list(head.predict(X)), PERSPECTIVE_LABELS),
            "pronoun_baseline": classification_metrics(labels, [pronoun_baseline(t) for t in texts],
                                                       PERSPECTIVE_LABELS)}


def load_labelled_file(path: str, text_field: str = "text", label_field: str = "label"
                       ) -> tuple[list[str], list[str], list[Reject]]:
    """Texts and labels from a JSONL or CSV file; rows with a bad label are returned as rejects."""
    opts = ReadOptions(text_field=text_field)
    check_inputs([path], opts)
    if Path(path).suffix.lower() not in {".jsonl", ".csv"}:
        raise InputError(f"{path}: labelled data must be .jsonl or .csv with {text_field!r} and "
                         f"{label_field!r} fields", code=E_BAD_LABELS)
    texts, labels, rejects = [], [], []
    for item in read_inputs([path], opts):
        if isinstance(item, Reject):
            rejects.append(item)
            continue
        label = item.meta.get(label_field)
        if label not in PERSPECTIVE_LABELS:
            rejects.append(Reject(item.source, item.position, f"{label_field} {label!r} is not one of "
                                  f"{', '.join(PERSPECTIVE_LABELS)}", E_BAD_LABELS))
            continue
        texts.append(item.text)
        labels.append(label)
    if not texts:
        raise UsageError(f"{path}: no usable labelled rows ({len(rejects)} rejected)", code=E_BAD_LABELS)
    return texts, labels, rejects


def _doc_level(nlp: Language, texts: list[str], gold: list[str], batch_size: int = 64) -> dict:
    pred = [document_side(doc) for doc in nlp.pipe(texts, batch_size=batch_size)]
    base = [pronoun_baseline(t, tie="company") for t in texts]
    return {"model": classification_metrics(gold, pred, SIDES),
            "pronoun_baseline": classification_metrics(gold, base, SIDES)}


def twcs_examples(shared: Path, limit: int | None = None) -> tuple[list[str], list[str]]:
    path = shared / "twcs-customer-support" / "twcs_sample_first5000.csv"
    if not path.is_file():
        raise InputError(f"{path}: not found; pass --shared-dir pointing at shared/data", code=E_NOT_FOUND)
    texts, labels = [], []
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row.get("inbound") not in ("True", "False") or not (row.get("text") or "").strip():
                continue
            texts.append(row["text"])
            labels.append("customer" if row["inbound"] == "True" else "company")
    if limit:
        rng = np.random.default_rng(0)
        keep = sorted(rng.choice(len(texts), size=min(limit, len(texts)), replace=False))
        texts, labels = [texts[i] for i in keep], [labels[i] for i in keep]
    return texts, labels


def mission_examples(shared: Path) -> tuple[list[str], list[str]]:
    path = shared / "company-mission-descriptions" / "fortune500_mission_statements.json"
    if not path.is_file():
        raise InputError(f"{path}: not found; pass --shared-dir pointing at shared/data", code=E_NOT_FOUND)
    companies = json.loads(path.read_text(encoding="utf-8"))["companies"]
    texts, labels = [], []
    for line in MISSION_LABELS.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        text = companies[row["index"]]["mission_statement"]
        if hashlib.sha1(text.encode("utf-8")).hexdigest() != row["sha1"]:
            log.warning("mission statement %s changed since it was labelled; skipped", row["index"])
            continue
        if row["label"] in SIDES:
            texts.append(text)
            labels.append(row["label"])
    return texts, labels


def evaluate_real(nlp: Language, shared: Path = DEFAULT_SHARED, twcs_limit: int | None = None) -> dict:
    """Document-level company-vs-customer metrics on both real data sets, model beside baseline."""
    out = {}
    texts, labels = twcs_examples(shared, twcs_limit)
    out["twcs company replies vs customer tweets"] = _doc_level(nlp, texts, labels)
    texts, labels = mission_examples(shared)
    out["fortune500 mission statements (labelled sample)"] = _doc_level(nlp, texts, labels)
    return out
