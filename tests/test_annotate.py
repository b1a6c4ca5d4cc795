"""The annotate contract carries promises, claims and the lip-service scores (real pipeline)."""
from __future__ import annotations

import json

import pytest

from nlp.annotate import Annotator, split_pieces
from nlp.records import Record, Reject

TEXT = ("We are the leading bank in Wales. Customers come first.\n\n"
        "We will refund you within 48 hours. Free returns within 30 days.\n\n"
        "We always provide the best service.")
PROMISE_KEYS = {"text", "theme", "specificity", "strength", "quantities"}
CLAIM_KEYS = {"text", "lip_service", "reasons"}
SCORE_KEYS = {"promise_count", "cheap_talk_ratio", "lip_service_score", "lip_service_reasons"}


@pytest.fixture(scope="module")
def annotated(nlp):
    rejects: list[Reject] = []
    annotator = Annotator(nlp)
    items = [Record(id="r1", text=TEXT, kind="company", source="tiny.jsonl"),
             Reject(source="tiny.jsonl", position="line 2", reason="empty text", code="E119")]
    out = list(annotator.annotate(items, rejects.append))
    return out, rejects, annotator


def by_text(record: dict) -> dict[str, dict]:
    return {s["text"]: s for s in record["sentences"]}


def test_one_record_out_and_the_reject_passed_on(annotated):
    out, rejects, annotator = annotated
    assert [r["id"] for r in out] == ["r1"]
    assert [r.code for r in rejects] == ["E119"]
    assert annotator.counts.reconcile()
    assert out[0]["kind"] == "company" and out[0]["source"] == "tiny.jsonl"


def test_sentences_carry_promise_and_claim_dicts_or_null(annotated):
    record = annotated[0][0]
    assert len(record["sentences"]) == 5
    for s in record["sentences"]:
        assert TEXT[s["start"]:s["end"]] == s["text"]
        assert s["promise"] is None or PROMISE_KEYS <= set(s["promise"])
        assert s["claim"] is None or CLAIM_KEYS <= set(s["claim"])
        if s["promise"] is not None:
            assert s["promise"]["text"] == s["text"]
            assert s["promise"]["specificity"] in {"specific", "vague"}
            assert s["promise"]["strength"] in {"absolute", "firm", "hedged"}
            assert isinstance(s["promise"]["quantities"], list)
        if s["claim"] is not None:
            assert s["claim"]["text"] == s["text"]
            assert isinstance(s["claim"]["lip_service"], bool)
            assert isinstance(s["claim"]["reasons"], list)
            assert "lexicon" not in s["claim"] and "paragraph" not in s["claim"]  # internal fields stay out


def test_expected_promises_and_claims(annotated):
    sents = by_text(annotated[0][0])
    refund = sents["We will refund you within 48 hours."]["promise"]
    assert refund["specificity"] == "specific"
    assert any(q["type"] == "duration" and q["hours"] == 48 for q in refund["quantities"])
    assert sents["Free returns within 30 days."]["promise"] is not None
    assert sents["We are the leading bank in Wales."]["promise"] is None
    over = sents["We always provide the best service."]["promise"]
    assert (over["strength"], over["specificity"]) == ("absolute", "vague")
    claim = sents["Customers come first."]["claim"]
    assert claim["lip_service"] is True  # the 48-hour promise is in the next paragraph
    assert "no_concrete_commitment" in claim["reasons"]


def test_scores_carry_promise_and_lip_service_fields(annotated):
    scores = annotated[0][0]["scores"]
    assert SCORE_KEYS <= set(scores)
    sents = annotated[0][0]["sentences"]
    assert scores["promise_count"] == sum(1 for s in sents if s["promise"]) >= 3
    assert scores["cheap_talk_ratio"] is not None and 0.0 <= scores["cheap_talk_ratio"] <= 1.0
    assert isinstance(scores["lip_service_score"], int) and 0 <= scores["lip_service_score"] <= 100
    assert isinstance(scores["lip_service_reasons"], list) and len(scores["lip_service_reasons"]) <= 3
    assert all(isinstance(r, str) for r in scores["lip_service_reasons"])


def test_the_record_is_json_serialisable(annotated):
    record = annotated[0][0]
    assert json.loads(json.dumps(record)) == record


def test_pieces_give_the_same_sentences_as_one_piece(nlp, annotated):
    """A long text cut into pieces (at paragraph ends) is annotated as if whole."""
    whole = annotated[0][0]
    (cut,) = Annotator(nlp, piece_chars=80).annotate([Record(id="r1", text=TEXT, kind="company")], lambda r: None)
    assert cut["sentences"] == whole["sentences"]
    assert cut["scores"] == whole["scores"]


def _spy_on_batches(nlp, monkeypatch) -> list[list[int]]:
    """The lengths of the texts of each batch the annotator sends to spaCy (the real pipeline runs them)."""
    batches: list[list[int]] = []
    real = nlp.pipe

    def pipe(texts, **kwargs):
        if kwargs.get("as_tuples"):  # the annotator's calls (components may parse their own phrases)
            texts = list(texts)
            batches.append([len(text) for text, _ in texts])
        return real(texts, **kwargs)

    monkeypatch.setattr(nlp, "pipe", pipe)
    return batches


def test_long_documents_do_not_share_a_batch(nlp, monkeypatch):
    """spaCy's working memory grows with the characters of a batch: a batch stays under
    batch_chars (a longer piece goes alone), and the annotations are those of one big batch."""
    long_text = "\n\n".join([TEXT] * 6)  # about 900 characters, 3 pieces of at most 400
    records = [Record(id=f"r{i}", text=text, kind="company")
               for i, text in enumerate([TEXT, long_text, "You get it tomorrow.", long_text, TEXT])]
    together = list(Annotator(nlp, piece_chars=400, batch_size=64, batch_chars=10**9).annotate(records, lambda r: None))
    batches = _spy_on_batches(nlp, monkeypatch)
    bounded = list(Annotator(nlp, piece_chars=400, batch_size=64, batch_chars=500).annotate(records, lambda r: None))
    assert bounded == together
    assert sum(len(b) for b in batches) == 2 + 2 * len(split_pieces(long_text, 400)) + 1
    assert all(sum(b) <= 500 or len(b) == 1 for b in batches) and len(batches) > 3


def test_batch_size_still_bounds_a_batch_of_short_documents(nlp, monkeypatch):
    batches = _spy_on_batches(nlp, monkeypatch)
    records = [Record(id=f"r{i}", text=f"You get refund number {i}.") for i in range(7)]
    out = list(Annotator(nlp, batch_size=3, batch_chars=10**6).annotate(records, lambda r: None))
    assert [r["id"] for r in out] == [f"r{i}" for i in range(7)]
    assert [len(b) for b in batches] == [3, 3, 1]


def test_from_config_reads_the_lipservice_settings(nlp, cfg):
    annotator = Annotator.from_config(cfg, nlp)
    ls = cfg["lipservice"]
    assert (annotator.piece_chars, annotator.batch_size, annotator.batch_chars) == (
        ls["piece_chars"], ls["batch_size"], ls["batch_chars"])
    assert annotator.nlp is nlp and annotator.workers == 1


# --- split_pieces ---------------------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st

from nlp.annotate import Counts, resolve_kind  # noqa: E402


def test_split_pieces_takes_a_numpy_whole_number():
    import numpy as np

    assert split_pieces("Para one.\n\nPara two.", np.int64(12)) == [(0, "Para one.\n\n"), (11, "Para two.")]


@pytest.mark.parametrize("text, limit", [("ab", 0), ("Para one.\n\nPara two.", -1), ("ab", 2.5), ("ab", "5"),
                                         ("ab", True), (b"ab", 5), (None, 5)])
def test_split_pieces_refuses_a_limit_or_text_it_cannot_cut_by(text, limit):
    """A limit of 0 never moved on: it added empty pieces until the machine ran out of memory."""
    with pytest.raises((ValueError, TypeError), match="split_pieces"):
        split_pieces(text, limit)


def check_pieces(text: str, pieces: list[tuple[int, str]], limit: int) -> None:
    assert "".join(p for _, p in pieces) == text
    for offset, piece in pieces:
        assert text[offset:offset + len(piece)] == piece
        assert 0 < len(piece) <= limit or (piece == text == "")


def test_a_short_text_is_one_piece():
    assert split_pieces("We care.", 100) == [(0, "We care.")]
    assert split_pieces("x" * 10, 10) == [(0, "x" * 10)]
    assert split_pieces("", 5) == [(0, "")]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab .!?\n\t", max_size=300), st.integers(min_value=1, max_value=60))
def test_pieces_concatenate_back_and_respect_the_limit(text, limit):
    check_pieces(text, split_pieces(text, limit), limit)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200), st.integers(min_value=1, max_value=40))
def test_pieces_concatenate_back_for_any_unicode(text, limit):
    check_pieces(text, split_pieces(text, limit), limit)


def test_a_blank_line_is_preferred_to_a_newline_and_a_sentence_end():
    text = "A" * 30 + "\n\n" + "B" * 10 + ".\nC" + "c" * 5 + ". D" + "d" * 50
    pieces = split_pieces(text, 60)
    check_pieces(text, pieces, 60)
    assert pieces[0] == (0, "A" * 30 + "\n\n")


def test_a_newline_is_preferred_to_a_later_sentence_end():
    text = "A" * 30 + ".\n" + "B" * 10 + ". C" + "c" * 5 + ". " + "d" * 50
    pieces = split_pieces(text, 60)
    check_pieces(text, pieces, 60)
    assert pieces[0][1] == "A" * 30 + ".\n"


def test_a_sentence_end_is_preferred_to_a_later_space():
    text = "A" * 30 + ". " + "B" * 10 + " word word " + "d" * 50
    pieces = split_pieces(text, 60)
    check_pieces(text, pieces, 60)
    assert pieces[0][1] == "A" * 30 + ". "


def test_without_punctuation_the_cut_is_at_the_last_space():
    text = " ".join(["word"] * 40)  # 199 characters
    pieces = split_pieces(text, 50)
    check_pieces(text, pieces, 50)
    assert all(p.endswith(" ") for _, p in pieces[:-1])
    assert all(not p.startswith(" ") for _, p in pieces)  # no word is cut in two


def test_a_boundary_in_the_first_half_of_the_window_is_ignored():
    """A blank line right at the start would give a tiny piece: a later space wins."""
    text = "ab\n\n" + "x" * 40 + " " + "y" * 40
    pieces = split_pieces(text, 50)
    check_pieces(text, pieces, 50)
    assert pieces[0] == (0, "ab\n\n" + "x" * 40 + " ")


def test_an_unbroken_run_gets_a_hard_cut_at_the_limit():
    text = "x" * 25
    assert split_pieces(text, 10) == [(0, "x" * 10), (10, "x" * 10), (20, "x" * 5)]


def test_offsets_follow_the_pieces():
    text = "One. Two.\n\nThree four five six.\nSeven eight nine. Ten eleven twelve."
    pieces = split_pieces(text, 20)
    check_pieces(text, pieces, 20)
    offsets = [o for o, _ in pieces]
    assert offsets[0] == 0 and offsets == sorted(set(offsets))


# --- resolve_kind ---------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["company", "review"])
def test_explicit_kinds_are_kept_whatever_the_text(kind):
    assert resolve_kind(kind, "I loved it, my meal was great.") == kind
    assert resolve_kind(kind, "We are the best, our team is great.") == kind


@pytest.mark.parametrize("text, expected", [
    ("I waited an hour and my order was cold.", "review"),
    ("I went there with friends and we loved it.", "review"),  # "I" as often as "we"
    ("I'm impressed. Me and my wife will be back.", "review"),
    ("I think we should say our service is the best.", "company"),  # "we" more often
    ("We are the leading provider. Our team serves you.", "company"),
    ("The shop opens at nine.", "company"),  # neither: company
    ("", "company"),
    ("We verify your ID before every delivery.", "company"),  # "ID" is not "I'd": it made copy a review
    ("Enter your user id to log in.", "company"),
    ("I'd like my money back.", "review"),
])
def test_auto_kind_compares_i_with_we(text, expected):
    assert resolve_kind("auto", text) == expected


def test_contracted_we_counts_as_we():
    straight = "We're open late, we've got the stock and we'll deliver. I'm Sam, the manager."
    assert resolve_kind("auto", straight) == resolve_kind("auto", straight.replace("'", "\u2019")) == "company"


# --- Counts ---------------------------------------------------------------------------------

@pytest.mark.parametrize("read, annotated, rejected, ok", [
    (0, 0, 0, True), (3, 2, 1, True), (5, 5, 0, True), (3, 1, 1, False), (2, 2, 1, False),
])
def test_counts_reconcile(read, annotated, rejected, ok):
    assert Counts(read=read, annotated=annotated, rejected=rejected).reconcile() is ok


def test_counts_after_an_all_reject_input(nlp):
    annotator = Annotator(nlp)
    seen = []
    rejects = [Reject("a.jsonl", f"line {i}", "empty text", "E119") for i in (1, 2)]
    assert list(annotator.annotate(rejects, seen.append)) == []
    assert seen == rejects
    assert (annotator.counts.read, annotator.counts.annotated, annotator.counts.rejected) == (2, 0, 2)
    assert annotator.counts.reconcile()


def test_a_record_made_in_python_meets_the_readers_checks_and_its_batch_goes_on(nlp):
    """A lone surrogate in a hand-made Record stopped spaCy's tokenizer, and no record of the batch was annotated."""
    seen = []
    records = [Record(id="a", text="Fine."), Record(id="b", text="We refund you \ud83d fast.", source="api"),
               Record(id="c", text="  "), Record(id="d", text="Also fine.")]
    annotator = Annotator(nlp)
    assert [r["id"] for r in annotator.annotate(records, seen.append)] == ["a", "d"]
    assert [(r.source, r.position, r.code) for r in seen] == [("api", "b", "E113"), ("", "c", "E119")]
    assert "unpaired surrogates" in seen[0].reason and annotator.counts.reconcile()


# --- Annotator construction -----------------------------------------------------------------

def test_workers_without_config_is_a_value_error():
    with pytest.raises(ValueError, match="config"):
        Annotator(None, workers=2)
    with pytest.raises(ValueError, match="config"):
        Annotator(object(), workers=4)


def test_a_single_process_annotator_needs_a_pipeline():
    with pytest.raises(ValueError, match="pipeline"):
        Annotator(None)
    with pytest.raises(ValueError, match="pipeline"):
        Annotator(None, workers=0)


def test_workers_with_a_config_need_no_pipeline(cfg):
    annotator = Annotator(None, workers=2, config=cfg)
    assert annotator.workers == 2 and annotator.nlp is None and annotator.counts.reconcile()


def test_output_text_is_a_setting_of_the_config_workers_are_built_from(cfg):
    from nlp.pipeline import load_config

    on = load_config(overrides={"lipservice.output_text": True})
    assert Annotator.from_config(on, workers=2).output_text and not Annotator.from_config(cfg, workers=2).output_text


def test_a_non_positive_piece_size_is_refused():
    from nlp.errors import LipserviceError

    with pytest.raises((ValueError, LipserviceError)):
        Annotator(object(), piece_chars=0)
    with pytest.raises(LipserviceError, match="batch_chars is 0"):
        Annotator(object(), batch_chars=0)
