"""``lipservice train``: fit the heads on the train split of ``corpora/``, write skops + card + config."""
from __future__ import annotations

import json
import logging
import platform
import time
from pathlib import Path

import numpy as np
from thinc.api import Config
from spacy.util import registry

from . import __version__
from .baselines import pronoun_baseline
from .corpus import TEST_PREFIXES, load_perspective_corpus
from .heads import PERSPECTIVE_LABELS, PerspectiveHead, save_head
from .metrics import classification_metrics
from .perspective import HEAD_FILE, design_matrix
from .perspective_features import FEATURE_NAMES
from .pipeline import load_base_model, project_path

log = logging.getLogger(__name__)


def perspective_inputs(cfg: Config, texts: list[str], base=None, encoder=None) -> np.ndarray:
    """Parse each labelled sentence on its own and build the head's design matrix."""
    ls = cfg["lipservice"]
    base = base or load_base_model(list(ls["base_models"]), list(ls["exclude"]))
    encoder = encoder or registry.resolve({"e": cfg["components"]["perspective"]["encoder"]})["e"]
    spans = [doc[:] for doc in base.pipe(texts, batch_size=256)]
    return design_matrix(spans, encoder)


def train_perspective(cfg: Config, out_dir: str | Path | None = None, command: str = "lipservice train") -> dict:
    """Fit the perspective head on the train split, save it with its config and card.

    Returns what the card is made of (``data``, held-out ``metrics`` of model and baseline), so
    the caller can add real-data figures with :func:`write_card`.
    """
    t0 = time.time()
    tcfg = cfg["training"]["perspective"]
    seed = int(cfg["system"]["seed"])
    examples = load_perspective_corpus(project_path(tcfg["corpus"]))
    train = [e for e in examples if e.split == "train"]
    test = [e for e in examples if e.split == "test"]
    ls = cfg["lipservice"]
    base = load_base_model(list(ls["base_models"]), list(ls["exclude"]))
    encoder = registry.resolve({"e": cfg["components"]["perspective"]["encoder"]})["e"]
    X_train = perspective_inputs(cfg, [e.text for e in train], base, encoder)
    head = PerspectiveHead(n_embedding=encoder.dim, n_grammar=len(FEATURE_NAMES),
                           grammar_weight=float(tcfg["grammar_weight"]),
                           lexical_weight=float(tcfg["lexical_weight"]), C=float(tcfg["C"]), class_weight=tcfg["class_weight"], max_iter=int(tcfg["max_iter"]),
                           random_state=seed).fit(X_train, [e.label for e in train])
    X_test = perspective_inputs(cfg, [e.text for e in test], base, encoder)
    y_test = [e.label for e in test]
    metrics = {
        "model": classification_metrics(y_test, list(head.predict(X_test)), PERSPECTIVE_LABELS),
        "pronoun_baseline": classification_metrics(y_test, [pronoun_baseline(e.text) for e in test],
                                                   PERSPECTIVE_LABELS),
    }
    out = Path(out_dir) if out_dir else project_path(cfg["paths"]["models"])
    out.mkdir(parents=True, exist_ok=True)
    save_head(head, out / HEAD_FILE)
    cfg.to_disk(out / "perspective.cfg")
    data = {
        "corpus": str(tcfg["corpus"]),
        "documents": len({e.doc_id for e in examples}),
        "sentences": len(examples),
        "train_sentences": len(train),
        "test_sentences": len(test),
        "industries": sorted({e.industry for e in examples}),
        "kinds": sorted({e.kind for e in examples}),
        "label_counts": {lab: sum(e.label == lab for e in examples) for lab in PERSPECTIVE_LABELS},
    }
    result = {"out": str(out), "data": data, "metrics": metrics, "command": command, "seed": seed,
              "seconds": time.time() - t0}
    write_card(result)
    log.info("perspective head written to %s", out / HEAD_FILE)
    return result


def write_card(result: dict, real_metrics: dict | None = None) -> None:
    """Write ``perspective.md`` and ``perspective.metrics.json`` beside the head."""
    out = Path(result["out"])
    (out / "perspective.metrics.json").write_text(json.dumps(
        {"data": result["data"], "test_split": result["metrics"], "real_data": real_metrics}, indent=2) + "\n")
    (out / "perspective.md").write_text(model_card(result["data"], result["metrics"], real_metrics,
                                                   result["command"], result["seed"], result["seconds"]))


def _metric_rows(name: str, m: dict) -> str:
    per = ", ".join(f"{lab} {v['f1']:.3f}" for lab, v in m["per_class"].items())
    return f"| {name} | {m['n']} | {m['macro_f1']:.3f} | {m['accuracy']:.3f} | {per} |"


def model_card(data: dict, metrics: dict, real: dict | None, command: str, seed: int, seconds: float) -> str:
    """A short model card: what it predicts, from what data, how well on held-out data."""
    lines = [
        "# Perspective head (`perspective.skops`)",
        "",
        "Predicts whose perspective a sentence takes: `company`, `customer` or `neutral`",
        "(definitions: `corpora/GUIDELINES.md`). Multinomial logistic regression over the",
        "all-MiniLM-L6-v2 sentence embedding (384 dims), "
        f"{len(FEATURE_NAMES)} parse features and hashed word / word_role",
        "unigrams and bigrams, TF-IDF weighted (`nlp/perspective_features.py`, `nlp/heads.py`).",
        "",
        "## Training data",
        f"- `{data['corpus']}`: {data['sentences']} sentences in {data['documents']} documents, written and "
        "labelled by the project.",
        f"- Labels: {', '.join(f'{k} {v}' for k, v in data['label_counts'].items())}.",
        f"- Industries ({len(data['industries'])}): {', '.join(data['industries'])}.",
        f"- Kinds of text: {', '.join(data['kinds'])}.",
        f"- Split by document (sha1 of `doc_id` starts with {'/'.join(TEST_PREFIXES)} → test): "
        f"{data['train_sentences']} train, {data['test_sentences']} test sentences. Trained on train only.",
        "",
        "## Held-out test split (sentence level)",
        "",
        "| system | n | macro-F1 | accuracy | per-class F1 |",
        "|---|---|---|---|---|",
        _metric_rows("perspective head", metrics["model"]),
        _metric_rows("pronoun baseline", metrics["pronoun_baseline"]),
        "",
    ]
    if real:
        lines += ["## Real data (evaluation only, never trained on)", "",
                  "| data set | system | n | macro-F1 | accuracy | per-class F1 |", "|---|---|---|---|---|---|"]
        for name, res in real.items():
            lines.append(_metric_rows(f"{name} | model", res["model"]))
            lines.append(_metric_rows(f"{name} | pronoun baseline", res["pronoun_baseline"]))
        lines += ["", "Document-level decision: customer when the mean of p(customer) − p(company) over the",
                  "document's sentences is positive. `lipservice evaluate --task perspective --real` reproduces these.", ""]
    lines += [
        "## Rebuild",
        "```",
        command,
        "```",
        f"Seed {seed} (`[system] seed` in `config.cfg`); resolved config: `perspective.cfg`. "
        f"Built with lipservice {__version__}, Python {platform.python_version()} in {seconds:.0f} s.",
        "",
        "## Limits",
        "- English only. Perspective is judged per sentence; a document's share is the count of its sentences.",
        "- The training text is project-written; real-data figures above show how it transfers.",
        "- On twcs, authorship is only a proxy: company replies that tell the customer how to fix",
        "  their problem are customer-perspective by the guidelines, and count as errors there.",
        "",
    ]
    return "\n".join(lines)
