"""``lipservice evaluate``: held-out and real-data measurements, always beside a baseline.

Real data (read from ``../shared/data``, evaluation only, never copied or trained on):
- twcs-customer-support: company replies vs customer tweets, authorship as the label;
- company-mission-descriptions: a sample of Fortune 500 mission statements the project
  labelled (``corpora/real_labels/``), matched to the data by index and text checksum.
"""
from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np
from spacy.language import Language
from spacy.tokens import Doc

from .baselines import keyword_promise_baseline, pronoun_baseline
from .claims import lip_service_verdict
from .corpus import iter_documents, load_perspective_corpus, load_promise_corpus, split_of
from .errors import E_BAD_LABELS, E_BAD_TASK, E_NOT_FOUND, InputError, UsageError
from .heads import PERSPECTIVE_LABELS
from .io import STDIN, TABLE_EXTS, ReadOptions, Reject, check_inputs, format_of, read_inputs
from .metrics import binary_metrics, classification_metrics, macro_f1_interval
from .perspective import design_matrix, perspective_probabilities
from .pipeline import PROJECT_ROOT, base_pipes, project_path
from .promises import specificity_of
from .quantities import extract_quantities
from .records import as_json
from .train import standalone_spans

log = logging.getLogger(__name__)

SIDES = ("company", "customer")
DEFAULT_SHARED = PROJECT_ROOT.parent / "shared" / "data"
LABELS_DIR = PROJECT_ROOT / "corpora" / "real_labels"
MISSION_LABELS = LABELS_DIR / "fortune500_mission_perspective.jsonl"
#: The same statements labelled again, blind, by a second annotator (agreement: corpora/real_labels/README.md).
MISSION_LABELS_B = LABELS_DIR / "fortune500_mission_perspective_b.jsonl"
#: The other statements of the data set, labelled later by two more blind passes; no shipped training
#: text was written from them (their even half was read once, for a round not adopted).
MISSION_REST_LABELS = LABELS_DIR / "fortune500_mission_perspective_rest.jsonl"
MISSION_REST_LABELS_B = LABELS_DIR / "fortune500_mission_perspective_rest_b.jsonl"
#: A sample of twcs tweets labelled for perspective by the guidelines (two blind passes), so that the
#: model can be read against the guidelines and authorship against them too (how good a proxy it is).
TWCS_LABELS = LABELS_DIR / "twcs_perspective.jsonl"
TWCS_LABELS_B = LABELS_DIR / "twcs_perspective_b.jsonl"


def side_of_mean(diffs) -> str:
    """customer when the mean of a document's sentences' p(customer) − p(company) is positive, else
    company (also for a document without sentences)."""
    return "customer" if len(diffs) and float(np.mean(diffs)) > 0 else "company"


def document_side(doc: Doc) -> str:
    """company or customer for a whole document: the sign of mean p(customer) − p(company)."""
    return side_of_mean([s._.perspective_probs["customer"] - s._.perspective_probs["company"]
                         for s in doc.sents if s._.perspective_probs])


def evaluate_split(nlp: Language, cfg) -> dict:
    """Sentence-level metrics of the loaded head on the project's test split, with the baseline."""
    examples = [e for e in load_perspective_corpus(project_path(cfg["training"]["perspective"]["corpus"]))
                if e.split == "test"]
    return evaluate_sentences(nlp, cfg, [e.text for e in examples], [e.label for e in examples])


def evaluate_sentences(nlp: Language, cfg, texts: list[str], labels: list[str]) -> dict:
    """The perspective component's metrics on labelled sentences, beside the pronoun baseline."""
    return evaluate_labelled(nlp, cfg, texts, labels)[0]


def evaluate_labelled(nlp: Language, cfg, texts: list[str], labels: list[str], interval_seed: int | None = None
                      ) -> tuple[dict, int]:
    """:func:`evaluate_sentences`, and how many texts the parser reads as more than one sentence: a row
    of a user's file that holds several is scored as one, as if it were a sentence. With ``interval_seed``,
    the component's macro-F1 gets its 95 % bootstrap interval (a user's file is often small)."""
    comp = nlp.get_pipe("perspective")
    head = comp.require_head()
    with nlp.select_pipes(enable=base_pipes(nlp, cfg)):
        spans = standalone_spans(nlp, texts)
    X = design_matrix(spans, comp.encoder)
    several = sum(1 for span in spans if not _one_sentence(span.doc))
    probs = perspective_probabilities(head, X, comp.require_tuned(), texts, comp.second_opinion_below)
    pred = [str(head.classes_[k]) for k in probs.argmax(axis=1)]
    component = classification_metrics(labels, pred, PERSPECTIVE_LABELS)
    if interval_seed is not None and texts:
        component["macro_f1_ci95"] = list(macro_f1_interval(labels, pred, PERSPECTIVE_LABELS, seed=interval_seed))
    return ({"perspective component": component,
             "pronoun baseline": classification_metrics(labels, [pronoun_baseline(t) for t in texts],
                                                        PERSPECTIVE_LABELS)}, several)


def _one_sentence(doc: Doc) -> bool:
    return sum(1 for sent in doc.sents if not sent.text.isspace()) <= 1


def load_labelled_file(path: str, text_field: str = "text", label_field: str = "label", max_chars: int = 100_000,
                       max_chars_setting: str = "lipservice.piece_chars"
                       ) -> tuple[list[str], list[str], list[Reject]]:
    """Texts and labels from a JSONL, JSON, CSV/TSV or Parquet file, one sentence per row; a label is read
    whatever its case and padding (" Company"); rows with a bad label or a text over ``max_chars`` are
    returned as rejects, so that rows read = texts + rejects."""
    if label_field == text_field:
        raise UsageError(f"--label-field and --text-field both name {text_field!r}; the label and the text must be "
                         "two fields", code=E_BAD_LABELS)
    # the label may be any field, even the one the reader takes as the record's kind (none here) or id
    opts = ReadOptions(text_field=text_field, kind_field=None, max_chars=max_chars,
                       max_chars_setting=max_chars_setting)
    check_inputs([path], opts)
    if path != STDIN and format_of(Path(path))[0] not in TABLE_EXTS:  # format_of maps .ndjson, .tsv, sees through .gz
        raise InputError(f"{path}: labelled data must be .jsonl, .json, .csv, .tsv or .parquet (each also .gz but "
                         f"Parquet) with {text_field!r} and {label_field!r} fields", code=E_BAD_LABELS)
    texts, labels, rejects = [], [], []
    for item in read_inputs([path], opts):
        if isinstance(item, Reject):
            rejects.append(item)
            continue
        if path == STDIN and item.position == "file" and label_field not in item.meta:  # read as one text
            raise UsageError("--data -: stdin was read as one text, not as labelled rows; pipe JSON Lines, a JSON "
                             f"array or CSV with {text_field!r} and {label_field!r} fields", code=E_BAD_LABELS)
        fields = {**item.meta, opts.id_field: item.id} if label_field == opts.id_field else item.meta
        raw = fields.get(label_field)
        label = raw.strip().lower() if isinstance(raw, str) else raw
        if label not in PERSPECTIVE_LABELS:
            problem = (f"no {label_field!r} field (name it with --label-field)" if label_field not in fields
                       else f"{label_field} {as_json(raw)} is not one of {', '.join(PERSPECTIVE_LABELS)}")
            rejects.append(Reject(item.source, item.position, problem, E_BAD_LABELS))
            continue
        texts.append(item.text)
        labels.append(label)
    if not texts:
        first = f"; the first: {rejects[0].position}: {rejects[0].reason}" if rejects else ""
        raise UsageError(f"{path}: no usable labelled rows ({len(rejects)} rejected{first})", code=E_BAD_LABELS)
    return texts, labels, rejects


def label_conflicts(texts: list[str], labels: list[str]) -> list[tuple[str, list[str]]]:
    """Texts given different gold labels in different rows, with their labels in first-seen order: a model
    can be right on one of those rows only, so the figure's ceiling is below 1."""
    seen: dict[str, list[str]] = {}
    for text, label in zip(texts, labels):
        found = seen.setdefault(text, [])
        if label not in found:
            found.append(label)
    return [(text, found) for text, found in seen.items() if len(found) > 1]


def side_metrics(gold: list[str], pred: list[str], seed: int) -> dict:
    """Company-vs-customer metrics of documents, with a 95 % bootstrap interval of the macro-F1."""
    m = classification_metrics(gold, pred, SIDES)
    m["macro_f1_ci95"] = list(macro_f1_interval(gold, pred, SIDES, seed=seed))
    return m


def _doc_level(nlp: Language, texts: list[str], gold: list[str], seed: int,
               others: dict[str, list[str]] | None = None, batch_size: int = 64) -> dict:
    """The component's document-level metrics, with a 95 % bootstrap interval of its macro-F1,
    beside the pronoun baseline and any ``others`` (name → predictions)."""
    pred = [document_side(doc) for doc in nlp.pipe(texts, batch_size=batch_size)]
    out = {"perspective component": side_metrics(gold, pred, seed),
           "pronoun baseline": classification_metrics(gold, [pronoun_baseline(t, tie="company") for t in texts],
                                                      SIDES)}
    for name, other in (others or {}).items():
        out[name] = classification_metrics(gold, other, SIDES)
    return out


TWCS_FILE = "twcs-customer-support/twcs_sample_first5000.csv"


def table_rows(path: Path, text_field: str = "text", id_field: str = "id") -> list[dict]:
    """A data set's CSV rows that have a text, each a dict of its columns, in file order, read as
    ``annotate`` reads them: a stray carriage return in a cell stays in its row (twcs has one), where
    Python's csv module would end the row there and cut the text. Rows the reader rejects are logged."""
    if not path.is_file():
        raise InputError(f"{path}: not found; pass --shared-dir pointing at shared/data", code=E_NOT_FOUND)
    opts = ReadOptions(id_field=id_field, text_field=text_field, kind_field=None, max_chars=10**7)
    rows, rejects = [], []
    for item in read_inputs([str(path)], opts):
        if isinstance(item, Reject):
            rejects.append(item)
        elif item.text.strip():
            rows.append({id_field: item.id, text_field: item.text, **item.meta})
    if rejects:
        log.info("%s: %d rows without a usable text left out (the first: %s: %s)", path.name, len(rejects),
                 rejects[0].position, rejects[0].reason)
    return rows


def _tweets(shared: Path) -> list[dict]:
    """The twcs rows with an authorship and a text, in file order."""
    return [r for r in table_rows(shared / TWCS_FILE, id_field="tweet_id") if r.get("inbound") in ("True", "False")]


def _author(row: dict) -> str:
    return "customer" if row["inbound"] == "True" else "company"


def twcs_examples(shared: Path, limit: int | None = None) -> tuple[list[str], list[str]]:
    """Every tweet's text and authorship (customer or company), or a seeded sample of ``limit``."""
    rows = _tweets(shared)
    texts, labels = [r["text"] for r in rows], [_author(r) for r in rows]
    if limit:
        rng = np.random.default_rng(0)
        keep = sorted(rng.choice(len(texts), size=min(limit, len(texts)), replace=False))
        texts, labels = [texts[i] for i in keep], [labels[i] for i in keep]
    return texts, labels


def _labelled_rows(labels_path: Path, texts: dict, key: str) -> list[tuple]:
    """(key, text, label) for each line of a labels file whose text (``texts[key]``) is still
    the one that was labelled (SHA-1 check), in file order."""
    rows = []
    for line in labels_path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        text = texts.get(row[key])
        if text is None or hashlib.sha1(text.encode("utf-8")).hexdigest() != row["sha1"]:
            log.warning("%s: %s %s is missing or changed since it was labelled; skipped", labels_path.name, key,
                        row[key])
            continue
        rows.append((row[key], text, row["label"]))
    return rows


def _mission_rows(shared: Path, labels_path: Path) -> list[tuple[int, str, str]]:
    """(index, statement, label) for each labelled statement still as it was labelled, in file order."""
    path = shared / "company-mission-descriptions" / "fortune500_mission_statements.json"
    if not path.is_file():
        raise InputError(f"{path}: not found; pass --shared-dir pointing at shared/data", code=E_NOT_FOUND)
    companies = json.loads(path.read_text(encoding="utf-8"))["companies"]
    texts = {i: c["mission_statement"] for i, c in enumerate(companies)}
    return [row for row in _labelled_rows(labels_path, texts, "index") if row[2] in SIDES]


def _twcs_rows(shared: Path, labels_path: Path, half: str | None = None
               ) -> tuple[list[tuple[str, str, str]], dict[str, str]]:
    """(tweet_id, text, label) for each tweet of ``labels_path`` still as labelled, in file order, and
    kept to ``half`` by the tweet's place among the tweets ``twcs_examples`` reads (so its halves are
    theirs); and every tweet's authorship (tweet_id → company | customer)."""
    rows = _tweets(shared)
    keep = {r["tweet_id"] for r in _every_other(rows, half)}
    labelled = _labelled_rows(labels_path, {r["tweet_id"]: r["text"] for r in rows}, "tweet_id")
    return ([row for row in labelled if row[0] in keep],
            {r["tweet_id"]: _author(r) for r in rows})


def mission_examples(shared: Path, rest: bool = False) -> tuple[list[str], list[str]]:
    """The labelled mission statements and their labels (the first annotator): the sample
    (``MISSION_LABELS``), and with ``rest`` the other statements (``MISSION_REST_LABELS``) after it."""
    paths = [MISSION_LABELS] + ([MISSION_REST_LABELS] if rest and MISSION_REST_LABELS.is_file() else [])
    rows = [row for path in paths for row in _mission_rows(shared, path)]
    return [text for _, text, _ in rows], [label for _, _, label in rows]


def mission_agreement(shared: Path) -> list[bool]:
    """Per statement of ``mission_examples``: whether the second annotator, labelling blind
    (``MISSION_LABELS_B``), gave the same label. The agreed ones are the less ambiguous reference."""
    first = _mission_rows(shared, MISSION_LABELS)
    agreed = {row[0] for row in _agreed(first, _mission_rows(shared, MISSION_LABELS_B))}
    return [row[0] in agreed for row in first]


#: The halves of each real data set: the training text was written after reading errors on the even one only.
HALVES = ("even", "odd")


def _every_other(items: list, half: str | None) -> list:
    if half is None:
        return items
    if half not in HALVES:
        raise UsageError(f"--half {half!r} is not one of: {', '.join(HALVES)}", code=E_BAD_TASK)
    return items[HALVES.index(half)::2]


def half_of(texts: list[str], labels: list[str], half: str | None) -> tuple[list[str], list[str]]:
    """The even- or odd-numbered examples (0-based, in data-set order), or all of them when half is None."""
    return _every_other(texts, half), _every_other(labels, half)


def _agreed(rows: list[tuple], second: list[tuple]) -> list[tuple]:
    """The rows whose label the second, blind pass (rows keyed the same way) gave too."""
    other = {row[0]: row[2] for row in second}
    return [row for row in rows if other.get(row[0]) == row[2]]


def evaluate_real(nlp: Language, shared: Path = DEFAULT_SHARED, twcs_limit: int | None = None,
                  half: str | None = None, seed: int = 0) -> dict:
    """Document-level company-vs-customer metrics on the real data sets, model beside baseline, each
    with a bootstrap interval (``seed``: ``[system] seed``); ``half`` keeps the even- or odd-numbered
    documents of each set only (the odd ones were never read to write training text)."""
    out, suffix = {}, f" ({half}-numbered half)" if half else ""

    def measure(title: str, rows: list[tuple], others: dict[str, dict[str, str]] | None = None) -> None:
        """``others``: systems beside the model, each a mapping from a row's key to its prediction."""
        rows = [row for row in rows if row[2] in SIDES]
        out[title + suffix] = _doc_level(nlp, [r[1] for r in rows], [r[2] for r in rows], seed,
                                         {name: [o[r[0]] for r in rows] for name, o in (others or {}).items()})

    texts, labels = half_of(*twcs_examples(shared, twcs_limit), half)
    out["twcs company replies vs customer tweets" + suffix] = _doc_level(nlp, texts, labels, seed)
    if TWCS_LABELS.is_file():
        tweets, authors = _twcs_rows(shared, TWCS_LABELS, half)
        proxy = {"authorship (the proxy)": authors}
        measure("twcs tweets labelled by the guidelines", tweets, proxy)
        if TWCS_LABELS_B.is_file():
            measure("twcs tweets labelled by the guidelines (both annotators agree)",
                    _agreed(tweets, _twcs_rows(shared, TWCS_LABELS_B, half)[0]), proxy)
    sample = _every_other(_mission_rows(shared, MISSION_LABELS), half)
    measure("fortune500 mission statements (labelled sample)", sample)
    measure("fortune500 mission statements (both annotators agree)",
            _agreed(sample, _mission_rows(shared, MISSION_LABELS_B)))
    if MISSION_REST_LABELS.is_file():
        rest = _every_other(_mission_rows(shared, MISSION_REST_LABELS), half)
        measure("fortune500 mission statements (the rest)", rest)
        if MISSION_REST_LABELS_B.is_file():
            measure("fortune500 mission statements (the rest, both annotators agree)",
                    _agreed(rest, _mission_rows(shared, MISSION_REST_LABELS_B)))
        measure("fortune500 mission statements (all labelled)", sample + rest)
    return out


def gold_sentence_doc(nlp: Language, sentences: list[str]) -> Doc:
    """Run the pipeline on a paragraph whose sentence boundaries are the gold ones."""
    text = " ".join(sentences)
    doc = nlp.make_doc(text)
    starts, pos = set(), 0
    for s in sentences:
        starts.add(pos)
        pos += len(s) + 1
    for tok in doc:
        tok.is_sent_start = tok.idx in starts
    for _, proc in nlp.pipeline:
        doc = proc(doc)
    return doc


def evaluate_claims(nlp: Language, cfg) -> dict:
    """End to end on the claims test split (paragraphs with gold sentence boundaries): claim
    detection F1 beside the lexicon alone, and lip-service accuracy on the gold claims."""

    comp = nlp.get_pipe("claims")
    gold_claim, pred_claim, lex_claim, gold_lip, pred_lip = [], [], [], [], []
    for _, d in iter_documents(project_path(cfg["training"]["claims"]["corpus"])):
        if split_of(d["doc_id"]) != "test":
            continue
        texts = [s["text"].strip() for s in d["sentences"]]
        doc = gold_sentence_doc(nlp, texts)
        sents = list(doc.sents)
        if len(sents) != len(texts):
            log.warning("%s: the pipeline split the paragraph differently from the gold sentences; skipped", d["doc_id"])
            continue
        hits = comp.lexicon.counts(doc)
        for gold, sent, hit in zip(d["sentences"], sents, hits):
            gold_claim.append(gold["claim"])
            pred_claim.append(sent._.claim is not None)
            lex_claim.append(hit > 0)
            if gold["claim"]:
                gold_lip.append(gold["lip_service"])
                if sent._.claim is not None:
                    pred_lip.append(sent._.claim["lip_service"])
                else:  # judge the gold claim the same way even when detection missed it
                    paras_backed = any(s._.promise and s._.promise["specificity"] == "specific" for s in sents)
                    pred_lip.append(lip_service_verdict(sent._.perspective, paras_backed, 0, 0)[0])
    return {
        "claim detection (end to end)": {"claims component": binary_metrics(gold_claim, pred_claim),
                                         "lexicon only (baseline)": binary_metrics(gold_claim, lex_claim)},
        "lip service (gold claims)": {"claims component": binary_metrics(gold_lip, pred_lip),
                                      "always lip service (baseline)": binary_metrics(gold_lip, [True] * len(gold_lip))},
    }


#: Every sentence of 120 S&P 500 business summaries drawn at random, labelled claim or not (README there).
CLAIM_REAL_LABELS = LABELS_DIR / "sp500_summary_claims.jsonl"
SP500_FILE = Path("company-mission-descriptions") / "sp500_companies_business_summaries.csv"


def evaluate_claims_real(nlp: Language, shared: Path = DEFAULT_SHARED) -> dict:
    """Claim detection on real company text that describes itself: every sentence of 120 S&P 500 business
    summaries drawn at random, labelled by the guidelines (mostly product and segment descriptions, which the
    detector read as customer-centricity claims), the component beside the lexicon alone. A sentence the
    pipeline now cuts otherwise than when it was labelled has no label: counted, logged and left out."""
    labels: dict[str, dict[str, bool]] = {}
    for line in CLAIM_REAL_LABELS.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        labels.setdefault(row["symbol"], {})[row["sha1"]] = bool(row["claim"])
    rows = [r for r in table_rows(shared / SP500_FILE, text_field="Longbusinesssummary", id_field="Symbol")
            if r["Symbol"] in labels]
    comp = nlp.get_pipe("claims")
    gold, pred, lexicon, unlabelled, found = [], [], [], 0, set()
    for row, doc in zip(rows, nlp.pipe([r["Longbusinesssummary"] for r in rows], batch_size=16)):
        for sent, hits in zip(doc.sents, comp.lexicon.counts(doc)):
            if not sent.text.strip():
                continue
            key = hashlib.sha1(sent.text.strip().encode("utf-8")).hexdigest()
            if key not in labels[row["Symbol"]]:
                unlabelled += 1
                continue
            found.add((row["Symbol"], key))
            gold.append(labels[row["Symbol"]][key])
            pred.append(sent._.claim is not None)
            lexicon.append(hits > 0)
    missing = sum(len(keys) for keys in labels.values()) - len(found)
    if unlabelled or missing:
        log.warning("%s: %d sentence(s) without a label and %d labelled sentence(s) no longer found: the "
                    "pipeline cuts them otherwise than when they were labelled; left out", CLAIM_REAL_LABELS.name,
                    unlabelled, missing)
    name = f"S&P 500 business summaries, every sentence of {len(rows)} drawn at random"
    return {name: {"claims component": _with_false_alarms(gold, pred),
                   "lexicon only (baseline)": _with_false_alarms(gold, lexicon)}}


def _with_false_alarms(gold: list[bool], pred: list[bool]) -> dict:
    """:func:`binary_metrics`, and the share of the sentences that are no claim which are read as one: where
    claims are as rare as in company profiles, precision and recall rest on a handful, this on hundreds."""
    negatives = sum(not g for g in gold)
    false = sum(p and not g for g, p in zip(gold, pred))
    return {**binary_metrics(gold, pred), "false_alarms": false,
            "false_alarm_rate": round(false / negatives, 4) if negatives else None}


PROMISE_REAL = {
    "mission": LABELS_DIR / "fortune500_mission_promises.jsonl",
    "twcs": LABELS_DIR / "twcs_company_promises.jsonl",
}


def _has_promise(doc: Doc) -> bool:
    return any(s._.promise is not None for s in doc.sents)


def _promise_doc_level(nlp: Language, texts: list[str], gold: list[bool]) -> dict:

    pred = [_has_promise(doc) for doc in nlp.pipe(texts, batch_size=32)]
    return {"promises component": binary_metrics(gold, pred),
            "keyword baseline": binary_metrics(gold, [keyword_promise_baseline(t) for t in texts])}


def evaluate_promises(nlp: Language, cfg) -> dict:
    """Sentence-level identification on the test split (component beside the keyword baseline)."""

    test = [e for e in load_promise_corpus(project_path(cfg["training"]["promises"]["corpus"])) if e.split == "test"]
    pred = [_has_promise(doc) for doc in nlp.pipe([e.text for e in test], batch_size=64)]
    gold = [e.label for e in test]
    return {"identification (test split, pipeline)": {
        "promises component": binary_metrics(gold, pred),
        "keyword baseline": binary_metrics(gold, [keyword_promise_baseline(e.text) for e in test])}}


def evaluate_promises_real(nlp: Language, shared: Path = DEFAULT_SHARED) -> dict:
    """Does a text contain a promise, on real data: PromiseEval ESG paragraphs (their labels), our
    labelled samples of mission statements and twcs company replies; and the specificity signal
    against verifiability labels (Regulation Room test set: verifiable ≈ specific)."""

    out: dict = {}
    path = shared / "promiseeval-english" / "PromiseEval_Trainset_English.json"
    if path.is_file():
        rows = json.loads(path.read_text(encoding="utf-8"))
        out["PromiseEval ESG paragraphs (contains a promise)"] = _promise_doc_level(
            nlp, [r["data"] for r in rows], [r["promise_status"] == "Yes" for r in rows])
    mission = shared / "company-mission-descriptions" / "fortune500_mission_statements.json"
    if mission.is_file() and PROMISE_REAL["mission"].is_file():
        companies = json.loads(mission.read_text(encoding="utf-8"))["companies"]
        texts, gold = [], []
        for line in PROMISE_REAL["mission"].read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            text = companies[row["index"]]["mission_statement"]
            if hashlib.sha1(text.encode("utf-8")).hexdigest() == row["sha1"]:
                texts.append(text)
                gold.append(bool(row["promise"]))
        out["fortune500 mission statements (labelled sample)"] = _promise_doc_level(nlp, texts, gold)
    if (shared / TWCS_FILE).is_file() and PROMISE_REAL["twcs"].is_file():
        labels = {}
        for line in PROMISE_REAL["twcs"].read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            labels[str(row["tweet_id"])] = row
        texts, gold = [], []
        for row in table_rows(shared / TWCS_FILE, id_field="tweet_id"):
            lab = labels.get(row["tweet_id"])
            if lab and hashlib.sha1(row["text"].encode("utf-8")).hexdigest() == lab["sha1"]:
                texts.append(row["text"])
                gold.append(bool(lab["promise"]))
        out["twcs company replies (labelled sample)"] = _promise_doc_level(nlp, texts, gold)
    ver = shared / "verifiability-claims" / "regulation_room_test.csv"
    if ver.is_file():
        rows = table_rows(ver)
        docs = list(nlp.pipe([r["text"] for r in rows], batch_size=64))
        entities = nlp.get_pipe("promises").entities_of([d[:] for d in docs])
        pred = [specificity_of(r["text"], extract_quantities(r["text"]), ents) == "specific"
                for r, ents in zip(rows, entities)]
        out["verifiability (Regulation Room test): specific vs verifiable"] = {
            "specificity rule": binary_metrics([r["label"] in ("n", "e") for r in rows], pred)}
    return out


def evaluate_complaints(nlp: Language, cfg) -> dict:
    """Complaint detection on the complaints corpus's test split, through the pipeline, beside VADER."""
    from .corpus import load_complaint_corpus
    from .train import vader_complaint

    test = [e for e in load_complaint_corpus(project_path(cfg["training"]["complaints"]["corpus"]))
            if e.split == "test"]
    cut = nlp.get_pipe("complaints").threshold
    pred = [(d._.complaint_p or 0.0) >= cut for d in nlp.pipe([e.text for e in test], batch_size=64)]
    gold = [e.label for e in test]
    return {"complaint detection (test split sentences)": {
        "complaints component": binary_metrics(gold, pred),
        "VADER negativity (baseline)": binary_metrics(gold, vader_complaint([e.text for e in test]))}}


def _pair_themes(nlp: Language, texts: list[str], promise: bool) -> list[str | None]:
    """The theme the pipeline would give each text as a promise (the promises component's, None when
    unsure) or as a complaint (the themes component's head, ``unassigned`` when unsure), whether or not
    the detector would flag it: the pairs measure the matching rule, not detection."""
    from .taxonomy import theme_matrix

    if promise:
        promises = nlp.get_pipe("promises")
        return [t for t, _ in promises.themes_of(promises.encoder.encode(texts))]
    themes = nlp.get_pipe("themes")
    return [t for t, _, _ in themes.decide(theme_matrix(texts, themes.encoder, themes.matcher))]


def load_gap_pairs(path: Path) -> list[dict]:
    """The labelled promise × complaint pairs (``corpora/gap/pairs.jsonl``)."""
    if not path.is_file():
        raise InputError(f"{path}: gap pairs not found; point [paths] corpora at the project's corpora/",
                         code=E_NOT_FOUND)
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def evaluate_gap(nlp: Language, cfg, *, tune: bool = False) -> dict:
    """Does a complaint contradict a promise? The gap rule on the test pairs, with the pipeline's
    themes (end to end) and with gold themes, beside theme-only and similarity-only baselines.
    With ``tune``, also the thresholds that do best on the train pairs (never the test pairs)."""
    from .gap import GapSettings, contradicts

    pairs = load_gap_pairs(project_path(cfg["paths"]["corpora"]) / "gap" / "pairs.jsonl")
    encoder = nlp.get_pipe("complaints").encoder
    sims = np.sum(encoder.encode([p["promise"] for p in pairs]) * encoder.encode([p["complaint"] for p in pairs]),
                  axis=1)
    p_theme = _pair_themes(nlp, [p["promise"] for p in pairs], promise=True)
    c_theme = _pair_themes(nlp, [p["complaint"] for p in pairs], promise=False)
    settings = GapSettings.from_config(cfg)
    split = {s: [i for i, p in enumerate(pairs) if p["split"] == s] for s in ("train", "test")}

    def rule(idx: list[int], s: GapSettings, gold_themes: bool) -> list[bool]:
        return [contradicts(pairs[i]["promise_theme"] if gold_themes else p_theme[i],
                            pairs[i]["complaint_theme"] if gold_themes else c_theme[i], float(sims[i]), s)
                for i in idx]

    def best_cut(idx: list[int]) -> float:  # similarity-only baseline, its threshold fitted on train
        grid = np.round(np.arange(0.1, 0.9, 0.01), 2)
        return float(max(grid, key=lambda t: binary_metrics([pairs[i]["contradicts"] for i in idx],
                                                            [sims[i] >= t for i in idx])["f1"]))

    test, gold = split["test"], [pairs[i]["contradicts"] for i in split["test"]]
    cut = best_cut(split["train"])
    results = {
        "gap rule, pipeline themes": binary_metrics(gold, rule(test, settings, False)),
        "gap rule, gold themes": binary_metrics(gold, rule(test, settings, True)),
        "same theme only (baseline)": binary_metrics(gold, [p_theme[i] is not None and p_theme[i] == c_theme[i]
                                                            for i in test]),
        f"similarity >= {cut:.2f} only (baseline, fitted on train)": binary_metrics(gold, [sims[i] >= cut
                                                                                          for i in test]),
    }
    if tune:
        train_gold = [pairs[i]["contradicts"] for i in split["train"]]
        grid = [(a, b) for a in np.round(np.arange(0.15, 0.61, 0.01), 2) for b in np.round(np.arange(0.4, 0.91, 0.05), 2)
                if a <= b]
        scored = [(binary_metrics(train_gold, rule(split["train"], GapSettings(about_similarity=float(a),
                                                                               strict_similarity=float(b)), False))
                   ["f1"], -a, -b) for a, b in grid]
        f1, a, b = max(scored)
        tuned = GapSettings(about_similarity=-a, strict_similarity=-b)
        results[f"tuned on train: about_similarity={-a:.2f}, strict_similarity={-b:.2f} (train F1 {f1:.3f})"] = \
            binary_metrics(gold, rule(test, tuned, False))
    return {f"gap pairs (test split, {len(test)} pairs)": results}
