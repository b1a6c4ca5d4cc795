"""nlp/evaluate.py: document sides, labelled files, sentence and claims evaluation, real-data readers."""
from __future__ import annotations

import hashlib
import json
import logging

import pytest

from nlp import evaluate
from nlp.corpus import split_of
from nlp.errors import E_BAD_LABELS, E_NOT_FOUND, InputError, UsageError
from nlp.evaluate import (
    document_side,
    evaluate_claims,
    evaluate_sentences,
    gold_sentence_doc,
    load_labelled_file,
    mission_examples,
    twcs_examples,
)
from nlp.records import Reject

COMPLAINT = ("@AcmeAirHelp my flight was cancelled and I have been on hold for two hours. "
             "I want my money back, this is ridiculous!")
COMPANY = "We are the leading provider of payment solutions. We value your feedback."


# --- document_side (real pipeline) ----------------------------------------------------------

@pytest.fixture(scope="module")
def side_docs(nlp):
    """Annotated in one batch (the encoder pads every call to a full batch)."""
    return list(nlp.pipe([COMPLAINT, COMPANY, ""]))


def test_a_customer_complaint_tweet_is_the_customer_side(side_docs):
    assert document_side(side_docs[0]) == "customer"


def test_a_company_self_description_is_the_company_side(side_docs):
    assert document_side(side_docs[1]) == "company"


def test_a_document_without_sentences_defaults_to_company(side_docs):
    assert list(side_docs[2].sents) == []
    assert document_side(side_docs[2]) == "company"


# --- load_labelled_file ---------------------------------------------------------------------

def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def test_jsonl_good_rows_are_returned_and_a_bad_label_is_a_reject(tmp_path):
    path = write_jsonl(tmp_path / "gold.jsonl", [
        {"text": "We are the best.", "label": "company"},
        {"text": "Where is my parcel?", "label": "cust"},  # not a label
        {"text": "Terms apply.", "label": "neutral"},
        {"text": "You save 10%.", "label": " Customer "},  # a spreadsheet's case and padding: still the label
        {"text": "No label here."},
    ])
    texts, labels, rejects = load_labelled_file(path)
    assert texts == ["We are the best.", "Terms apply.", "You save 10%."]
    assert labels == ["company", "neutral", "customer"]
    assert [(r.position, r.code) for r in rejects] == [("line 2", E_BAD_LABELS), ("line 5", E_BAD_LABELS)]
    assert all(isinstance(r, Reject) and r.source == path for r in rejects)
    assert '"cust"' in rejects[0].reason and "company, customer, neutral" in rejects[0].reason


@pytest.mark.parametrize("field", ["kind", "id"])
def test_the_label_may_be_in_a_field_the_reader_otherwise_reads_as_kind_or_id(tmp_path, field):
    # every row has a "kind" field, and was rejected for having none: the reader had taken it as the record's kind
    path = write_jsonl(tmp_path / "gold.jsonl", [{"text": "We are the best.", field: "company"},
                                                 {"text": "You save 10%.", field: "CUSTOMER"}])
    assert load_labelled_file(path, label_field=field) == (["We are the best.", "You save 10%."],
                                                           ["company", "customer"], [])


def test_the_label_and_the_text_cannot_be_one_field(tmp_path):
    path = write_jsonl(tmp_path / "gold.jsonl", [{"text": "company"}])
    with pytest.raises(UsageError, match="both name 'text'"):
        load_labelled_file(path, label_field="text")


def test_a_row_longer_than_one_piece_is_a_reject_naming_the_setting(tmp_path):
    # 1,053,000 characters passed max_chars and crashed the parser (spaCy's E088) with a traceback
    path = write_jsonl(tmp_path / "gold.jsonl", [{"text": "Terms apply. " * 81000, "label": "neutral"},
                                                 {"text": "We are great.", "label": "company"}])
    texts, labels, rejects = load_labelled_file(path, max_chars=100_000)
    assert texts == ["We are great."] and [r.position for r in rejects] == ["line 1"]
    assert "over the limit of 100,000 (raise lipservice.piece_chars)" in rejects[0].reason


def test_labelled_parquet_is_read(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "gold.parquet"
    pq.write_table(pa.table({"text": ["We are great.", "You save 10%."], "label": ["company", "customer"]}), path)
    assert load_labelled_file(str(path))[1:] == (["company", "customer"], [])


def test_unreadable_rows_are_passed_on_as_rejects(tmp_path):
    path = tmp_path / "gold.jsonl"
    path.write_text('{"text": "We are the best.", "label": "company"}\nnot json\n{"text": "", "label": "neutral"}\n',
                    encoding="utf-8")
    texts, labels, rejects = load_labelled_file(str(path))
    assert (texts, labels) == (["We are the best."], ["company"])
    assert [r.position for r in rejects] == ["line 2, column 1", "line 3"]


def test_csv_with_custom_field_names(tmp_path):
    path = tmp_path / "gold.csv"
    path.write_text("sentence,gold\nWe are the best.,company\n\"You get a refund, fast.\",customer\n"
                    "Nobody knows.,unsure\n", encoding="utf-8")
    texts, labels, rejects = load_labelled_file(str(path), text_field="sentence", label_field="gold")
    assert texts == ["We are the best.", "You get a refund, fast."]
    assert labels == ["company", "customer"]
    assert [(r.position, r.code) for r in rejects] == [("line 4", E_BAD_LABELS)]
    assert 'gold "unsure"' in rejects[0].reason


def test_a_file_with_no_usable_rows_is_a_usage_error(tmp_path):
    path = write_jsonl(tmp_path / "gold.jsonl", [{"text": "We are great.", "label": "x"}, {"text": "Hi.", "label": None}])
    with pytest.raises(UsageError, match="no usable labelled rows") as info:
        load_labelled_file(path)
    assert info.value.code == E_BAD_LABELS and info.value.exit_code == 2
    assert '2 rejected; the first: line 1: label "x" is not one of company, customer, neutral' in str(info.value)


def test_rows_without_the_label_field_say_so_and_how_to_name_it(tmp_path):
    path = write_jsonl(tmp_path / "gold.jsonl", [{"text": "We are great.", "gold": "company"}])
    with pytest.raises(UsageError, match=r"line 1: no 'label' field \(name it with --label-field\)"):
        load_labelled_file(path)


def test_a_txt_file_is_an_input_error(tmp_path):
    path = tmp_path / "gold.txt"
    path.write_text("We are great.\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"\.jsonl, \.json, \.csv, \.tsv or \.parquet") as info:
        load_labelled_file(str(path))
    assert info.value.code == E_BAD_LABELS


def test_labelled_tsv_and_json_array_are_read(tmp_path):
    tsv = tmp_path / "gold.tsv"
    tsv.write_text("text\tlabel\nWe are great.\tcompany\nYou save 10%.\tcustomer\n", encoding="utf-8")
    arr = tmp_path / "gold.json"
    arr.write_text(json.dumps([{"text": "We are great.", "label": "company"}, {"text": "You save 10%.",
                                                                                "label": "customer"}]))
    for path in (tsv, arr):
        texts, labels, rejects = load_labelled_file(str(path))
        assert (labels, rejects) == (["company", "customer"], [])


def test_a_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError) as info:
        load_labelled_file(str(tmp_path / "absent.jsonl"))
    assert info.value.code == E_NOT_FOUND


# --- evaluate_sentences (real pipeline) -----------------------------------------------------

def test_evaluate_sentences_gives_the_head_beside_the_pronoun_baseline(nlp, cfg):
    texts = ["We are the leading bank in Wales.", "Where is my refund? I have waited a week.",
             "The sky is blue.", "Our team is proud of our awards."]
    labels = ["company", "customer", "neutral", "company"]
    pipes = list(nlp.pipe_names)
    out = evaluate_sentences(nlp, cfg, texts, labels)
    assert set(out) == {"perspective component", "pronoun baseline"}
    for m in out.values():
        assert m["n"] == 4 and 0.0 <= m["macro_f1"] <= 1.0 and 0.0 <= m["accuracy"] <= 1.0
        assert m["labels"] == ["company", "customer", "neutral"]
        assert sum(map(sum, m["confusion"])) == 4
    assert out["pronoun baseline"]["macro_f1"] == 1.0  # we/our vs I/my vs neither: the baseline's easy case
    assert nlp.pipe_names == pipes  # select_pipes restored every component


# --- gold_sentence_doc (real pipeline) ------------------------------------------------------

GOLD = [
    "We value you.",
    "Call Mr. Smith at 9 a.m. on Mon. to book.",  # abbreviations inside one sentence
    "Fast delivery", "friendly staff", "and no hidden fees",  # no punctuation: the parser would join them
    "Our promise. Your peace of mind.",  # one gold sentence the parser would cut in two
    "Terms apply.",
]


def test_gold_sentence_doc_keeps_the_gold_boundaries(nlp):
    doc = gold_sentence_doc(nlp, GOLD)
    sents = list(doc.sents)
    assert doc.text == " ".join(GOLD)
    assert len(sents) == len(GOLD)
    assert [s.text.strip() for s in sents] == GOLD
    assert all(s._.perspective in {"company", "customer", "neutral"} for s in sents)  # the components ran


# --- evaluate_claims ------------------------------------------------------------------------

SECTIONS = {
    "claim detection (end to end)": {"claims component", "lexicon only (baseline)"},
    "lip service (gold claims)": {"claims component", "always lip service (baseline)"},
}


def check_claims_result(out: dict) -> None:
    assert {k: set(v) for k, v in out.items()} == SECTIONS
    for systems in out.values():
        ns = {m["n"] for m in systems.values()}
        assert len(ns) == 1 and ns.pop() > 0  # every system measured on the same, non-empty set
        for m in systems.values():
            assert set(m) == {"n", "precision", "recall", "f1", "accuracy"}
            assert all(0.0 <= m[k] <= 1.0 for k in ("precision", "recall", "f1", "accuracy"))
    assert out["lip service (gold claims)"]["always lip service (baseline)"]["recall"] == 1.0


def test_evaluate_claims_on_a_tiny_corpus_uses_the_test_split_only(nlp, tmp_path):
    assert split_of("t-7") == "test" and split_of("t-0") == "train"
    docs = [
        {"doc_id": "t-7", "industry": "bank", "kind": "web_copy", "sentences": [
            {"text": "Customers are at the heart of everything we do.", "claim": True, "lip_service": True},
            {"text": "Our branches open at nine.", "claim": False, "lip_service": None}]},
        {"doc_id": "t-0", "industry": "bank", "kind": "web_copy", "sentences": [
            {"text": "We put customers first.", "claim": True, "lip_service": True}]},
    ]
    (tmp_path / "tiny.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    out = evaluate_claims(nlp, {"training": {"claims": {"corpus": str(tmp_path)}}})
    check_claims_result(out)
    assert out["claim detection (end to end)"]["claims component"]["n"] == 2
    assert out["lip service (gold claims)"]["claims component"]["n"] == 1


@pytest.mark.slow
def test_evaluate_claims_on_the_shipped_corpus(nlp, cfg):
    out = evaluate_claims(nlp, cfg)
    check_claims_result(out)
    detection = out["claim detection (end to end)"]["claims component"]["n"]
    assert detection > 300
    assert 0 < out["lip service (gold claims)"]["claims component"]["n"] < detection


# --- real-data readers ----------------------------------------------------------------------

def sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def test_mission_examples_skip_a_statement_changed_since_labelling(tmp_path, monkeypatch, caplog):
    shared = tmp_path / "shared"
    folder = shared / "company-mission-descriptions"
    folder.mkdir(parents=True)
    a, b = "To serve our customers better every day.", "We make the best widgets in the world."
    (folder / "fortune500_mission_statements.json").write_text(json.dumps({"companies": [
        {"name": "Acme", "mission_statement": a}, {"name": "Widgetco", "mission_statement": b}]}), encoding="utf-8")
    labels = tmp_path / "labels.jsonl"
    labels.write_text(json.dumps({"index": 0, "sha1": sha1(a), "label": "customer"}) + "\n"
                      + json.dumps({"index": 1, "sha1": sha1(b + " (old wording)"), "label": "company"}) + "\n",
                      encoding="utf-8")
    monkeypatch.setattr(evaluate, "MISSION_LABELS", labels)
    with caplog.at_level(logging.WARNING, logger="nlp.evaluate"):
        texts, gold = mission_examples(shared)
    assert (texts, gold) == ([a], ["customer"])
    assert any("changed since it was labelled" in r.getMessage() for r in caplog.records)


def test_mission_examples_keep_only_company_or_customer_labels(tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    folder = shared / "company-mission-descriptions"
    folder.mkdir(parents=True)
    a, b = "Our mission is to lead the industry.", "Delivering value to shareholders."
    (folder / "fortune500_mission_statements.json").write_text(json.dumps({"companies": [
        {"mission_statement": a}, {"mission_statement": b}]}), encoding="utf-8")
    labels = tmp_path / "labels.jsonl"
    labels.write_text(json.dumps({"index": 1, "sha1": sha1(b), "label": "neutral"}) + "\n"
                      + json.dumps({"index": 0, "sha1": sha1(a), "label": "company"}) + "\n", encoding="utf-8")
    monkeypatch.setattr(evaluate, "MISSION_LABELS", labels)
    assert mission_examples(shared) == ([a], ["company"])


def test_mission_agreement_says_per_statement_whether_the_blind_second_label_is_the_same(tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    folder = shared / "company-mission-descriptions"
    folder.mkdir(parents=True)
    a, b, c = "To lead the industry.", "To get customers paid faster.", "To serve people well."
    (folder / "fortune500_mission_statements.json").write_text(json.dumps({"companies": [
        {"mission_statement": a}, {"mission_statement": b}, {"mission_statement": c}]}), encoding="utf-8")
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_text("".join(json.dumps({"index": i, "sha1": sha1(t), "label": lab}) + "\n" for i, t, lab in
                             [(0, a, "company"), (1, b, "customer"), (2, c, "customer")]), encoding="utf-8")
    second.write_text("".join(json.dumps({"index": i, "sha1": sha1(t), "label": lab}) + "\n" for i, t, lab in
                              [(0, a, "company"), (2, c, "company")]), encoding="utf-8")  # 1 unlabelled
    monkeypatch.setattr(evaluate, "MISSION_LABELS", first)
    monkeypatch.setattr(evaluate, "MISSION_LABELS_B", second)
    assert evaluate.mission_agreement(shared) == [True, False, False]


def test_the_second_mission_labels_cover_the_same_statements_as_the_first():
    def rows(path):
        return [(r["index"], r["sha1"]) for r in map(json.loads, path.read_text(encoding="utf-8").splitlines())]

    assert rows(evaluate.MISSION_LABELS_B) == rows(evaluate.MISSION_LABELS)
    labels = {json.loads(line)["label"] for line in evaluate.MISSION_LABELS_B.read_text(encoding="utf-8").splitlines()}
    assert labels <= {"company", "customer", "neutral"}


def test_mission_examples_without_the_data_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="shared-dir") as info:
        mission_examples(tmp_path)
    assert info.value.code == E_NOT_FOUND


def test_half_of_keeps_even_or_odd_numbered_documents_in_order():
    texts, labels = ["a", "b", "c", "d", "e"], ["company", "customer", "company", "customer", "company"]
    assert evaluate.half_of(texts, labels, "even") == (["a", "c", "e"], ["company", "company", "company"])
    assert evaluate.half_of(texts, labels, "odd") == (["b", "d"], ["customer", "customer"])
    assert evaluate.half_of(texts, labels, None) == (texts, labels)
    with pytest.raises(UsageError, match="even, odd"):
        evaluate.half_of(texts, labels, "first")


def test_twcs_examples_read_authorship_and_skip_unusable_rows(tmp_path):
    folder = tmp_path / "twcs-customer-support"
    folder.mkdir()
    (folder / "twcs_sample_first5000.csv").write_text(
        "tweet_id,inbound,text\n1,True,@Acme where is my order?\n2,False,@bob We are sorry. DM us.\n"
        "3,maybe,what\n4,True,   \n5,False,Thanks for waiting!\n", encoding="utf-8")
    texts, labels = twcs_examples(tmp_path)
    assert texts == ["@Acme where is my order?", "@bob We are sorry. DM us.", "Thanks for waiting!"]
    assert labels == ["customer", "company", "company"]
    sample, sample_labels = twcs_examples(tmp_path, limit=2)
    assert len(sample) == len(sample_labels) == 2 and set(sample) <= set(texts)
    assert twcs_examples(tmp_path, limit=2) == (sample, sample_labels)  # seeded: the same sample each time
    with pytest.raises(InputError):
        twcs_examples(tmp_path / "nowhere")


def test_twcs_examples_keep_a_tweet_whole_across_a_stray_carriage_return(tmp_path):
    # twcs tweet 3399 has "\r\r" in its unquoted text; Python's csv module ended the row there and the
    # evaluation scored "@AskPayPal " alone. Read as annotate reads it, the tweet is whole.
    folder = tmp_path / "twcs-customer-support"
    folder.mkdir()
    (folder / "twcs_sample_first5000.csv").write_bytes(
        b"tweet_id,inbound,text,created_at\n1,True,@AskPayPal \r\r I just love the start,Tue\n"
        b"2,False,@bob We are sorry.,Wed\n")
    texts, labels = twcs_examples(tmp_path)
    assert texts == ["@AskPayPal    I just love the start", "@bob We are sorry."]
    assert labels == ["customer", "company"]


def test_table_rows_keep_every_column_and_read_no_column_as_the_record_kind(tmp_path, caplog):
    path = tmp_path / "claims.csv"
    path.write_text(',label,text,kind\n0,n,"Refunds in 5 days, always.",web\n1,u,,web\n2,u,I agree,x\n',
                    encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="nlp.evaluate"):
        rows = evaluate.table_rows(path)
    assert rows == [{"id": f"{path}:2", "text": "Refunds in 5 days, always.", "": "0", "label": "n", "kind": "web"},
                    {"id": f"{path}:4", "text": "I agree", "": "2", "label": "u", "kind": "x"}]
    assert any("1 rows without a usable text" in r.getMessage() and "line 3" in r.getMessage()
               for r in caplog.records)


def _twcs_fixture(tmp_path, labels: list[tuple[str, str, str]]):
    folder = tmp_path / "twcs-customer-support"
    folder.mkdir()
    tweets = {"1": ("True", "@Acme where is my order?"), "2": ("False", "@bob We are sorry. DM us."),
              "3": ("maybe", "what"), "4": ("True", "my bill doubled"), "5": ("False", "Restart the router.")}
    (folder / "twcs_sample_first5000.csv").write_text(
        "tweet_id,inbound,text\n" + "".join(f"{k},{a},{t}\n" for k, (a, t) in tweets.items()), encoding="utf-8")
    path = tmp_path / "labels.jsonl"
    path.write_text("".join(json.dumps({"tweet_id": k, "sha1": sha1(text), "label": lab}) + "\n"
                            for k, text, lab in labels), encoding="utf-8")
    return path


def test_twcs_rows_pair_guideline_labels_with_authorship_and_keep_the_halves_of_twcs_examples(tmp_path, caplog):
    path = _twcs_fixture(tmp_path, [("1", "@Acme where is my order?", "customer"),
                                    ("5", "Restart the router.", "customer"),  # a company reply, customer's side
                                    ("4", "my bill tripled", "customer"),  # the text has changed: skipped
                                    ("2", "@bob We are sorry. DM us.", "company")])
    with caplog.at_level(logging.WARNING, logger="nlp.evaluate"):
        rows, authors = evaluate._twcs_rows(tmp_path, path)
    assert [r[0] for r in rows] == ["1", "5", "2"] and rows[1][2] == "customer"
    assert any("tweet_id 4 is missing or changed" in r.getMessage() for r in caplog.records)
    assert authors == {"1": "customer", "2": "company", "4": "customer", "5": "company"}
    # places among the tweets twcs_examples reads (row 3 has no authorship): 1→0, 2→1, 4→2, 5→3
    assert [r[0] for r in evaluate._twcs_rows(tmp_path, path, "even")[0]] == ["1"]
    assert [r[0] for r in evaluate._twcs_rows(tmp_path, path, "odd")[0]] == ["5", "2"]


def test_agreed_keeps_the_rows_the_second_pass_labels_the_same():
    first = [(1, "a", "company"), (2, "b", "customer"), (3, "c", "customer")]
    second = [(3, "c", "company"), (1, "a", "company")]  # 2 not labelled by the second pass
    assert evaluate._agreed(first, second) == [(1, "a", "company")]


def _label_rows(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_the_rest_of_the_mission_statements_are_every_statement_outside_the_sample_labelled_twice():
    sample = {r["index"] for r in _label_rows(evaluate.MISSION_LABELS)}
    rest = [(r["index"], r["sha1"]) for r in _label_rows(evaluate.MISSION_REST_LABELS)]
    assert rest == [(r["index"], r["sha1"]) for r in _label_rows(evaluate.MISSION_REST_LABELS_B)]
    assert not sample & {i for i, _ in rest}
    assert sample | {i for i, _ in rest} == set(range(500)) - {165, 400}  # the two "unknown" placeholders


def test_the_twcs_perspective_labels_are_two_passes_over_the_same_tweets():
    first, second = _label_rows(evaluate.TWCS_LABELS), _label_rows(evaluate.TWCS_LABELS_B)
    assert [(r["tweet_id"], r["sha1"]) for r in first] == [(r["tweet_id"], r["sha1"]) for r in second]
    assert len(first) == 500 and {r["label"] for r in first + second} <= {"company", "customer", "neutral"}


def test_gap_pairs_are_measured_on_the_test_split_beside_baselines(nlp, cfg):
    """`evaluate --task gap`: the rule on held-out pairs, with pipeline and gold themes, two baselines."""
    result = evaluate.evaluate_gap(nlp, cfg)
    [(name, systems)] = result.items()
    pairs = evaluate.load_gap_pairs(evaluate.project_path(cfg["paths"]["corpora"]) / "gap" / "pairs.jsonl")
    assert name == f"gap pairs (test split, {sum(p['split'] == 'test' for p in pairs)} pairs)"
    assert list(systems)[:3] == ["gap rule, pipeline themes", "gap rule, gold themes", "same theme only (baseline)"]
    assert any(k.startswith("similarity >=") for k in systems)
    for m in systems.values():
        assert m["n"] == sum(p["split"] == "test" for p in pairs) and 0.0 <= m["f1"] <= 1.0
    # the shipped rule is more precise than similarity alone (it accuses fewer kept promises)
    sim_only = next(v for k, v in systems.items() if k.startswith("similarity >="))
    assert systems["gap rule, pipeline themes"]["precision"] > sim_only["precision"]


def test_gap_pairs_theme_a_promise_and_a_complaint_as_the_pipeline_does(nlp):
    """The pairs measure the rule with the themes annotate would give: a promise's from the promises
    component (the theme head), a complaint's from the themes component."""
    promises = ["We will refund you within 48 hours.", "Every order ships free the next working day."]
    complaints = ["My refund took three weeks to arrive.", "The parcel came a week late."]
    assert evaluate._pair_themes(nlp, promises, True) == [
        next(s._.promise["theme"] for s in doc.sents) for doc in nlp.pipe(promises)]
    assert evaluate._pair_themes(nlp, complaints, False) == [
        doc.spans["complaints"][0]._.theme for doc in nlp.pipe(complaints)]


def test_gap_pairs_file_missing_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match=E_NOT_FOUND):
        evaluate.load_gap_pairs(tmp_path / "pairs.jsonl")


@pytest.mark.skipif(not evaluate.DEFAULT_SHARED.is_dir(), reason="needs ../shared/data beside the project")
def test_evaluate_real_measures_every_labelled_set_within_the_half_with_an_interval(nlp):
    out = evaluate.evaluate_real(nlp, twcs_limit=20, half="odd", seed=13)
    agreed = sum(evaluate.half_of(evaluate.mission_agreement(evaluate.DEFAULT_SHARED), [], "odd")[0])

    def model(title):
        return out[f"{title} (odd-numbered half)"]["perspective component"]

    all_n = model("fortune500 mission statements (labelled sample)")["n"]
    sub = model("fortune500 mission statements (both annotators agree)")
    assert (all_n, sub["n"]) == (83, agreed) and 0 < agreed < all_n
    assert out["twcs company replies vs customer tweets (odd-numbered half)"]["pronoun baseline"]["n"] == 10
    assert model("fortune500 mission statements (the rest)")["n"] == 166
    assert model("fortune500 mission statements (all labelled)")["n"] == 83 + 166
    assert 0 < model("fortune500 mission statements (the rest, both annotators agree)")["n"] <= 166
    guideline = out["twcs tweets labelled by the guidelines (odd-numbered half)"]
    assert list(guideline) == ["perspective component", "pronoun baseline", "authorship (the proxy)"]
    assert 200 < guideline["authorship (the proxy)"]["n"] == guideline["perspective component"]["n"] < 250
    for systems in out.values():
        m = systems["perspective component"]
        lo, hi = m["macro_f1_ci95"]
        assert lo <= m["macro_f1"] <= hi


@pytest.mark.skipif(not evaluate.DEFAULT_SHARED.is_dir(), reason="needs ../shared/data beside the project")
def test_claims_on_real_company_profiles_count_false_alarms_and_leave_out_a_changed_sentence(
        nlp, tmp_path, monkeypatch, caplog):
    """Company profiles are product and segment descriptions, read as customer-centricity claims (a tester
    found 556 in 503 summaries); claims there are rare, so the false alarms are the figure that says it."""
    rows = [json.loads(line) for line in evaluate.CLAIM_REAL_LABELS.read_text(encoding="utf-8").splitlines()]
    three = [r for r in rows if r["symbol"] in {r["symbol"] for r in rows[:1]} | {"IRM"}]
    three[0] = {**three[0], "sha1": "0" * 40}  # a sentence since cut otherwise: no label for it
    labels = tmp_path / "claims.jsonl"
    labels.write_text("".join(json.dumps(r) + "\n" for r in three), encoding="utf-8")
    monkeypatch.setattr(evaluate, "CLAIM_REAL_LABELS", labels)
    with caplog.at_level(logging.WARNING, logger="nlp.evaluate"):
        out = evaluate.evaluate_claims_real(nlp)
    [(name, systems)] = out.items()
    assert name == "S&P 500 business summaries, every sentence of 2 drawn at random"
    model = systems["claims component"]
    assert model["n"] == len(three) - 1 and "1 labelled sentence(s) no longer found" in caplog.text
    assert sum(r["claim"] for r in three) == 1  # the one claim of the 120 summaries is Iron Mountain's
    no_claim = model["n"] - 1
    assert model["false_alarm_rate"] == round(model["false_alarms"] / no_claim, 4)
    assert systems["lexicon only (baseline)"]["false_alarms"] == 0
