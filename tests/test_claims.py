"""Customer-centricity claims: the lip-service verdict, paragraphs, lexicon files and the shipped
``lipservice_claims`` component on the real pipeline."""
from __future__ import annotations

import pytest
import spacy
from conftest import doc_before
from spacy.tokens import Doc
from spacy.vocab import Vocab

from nlp.claims import HEAD_FILE, REASONS, lip_service_verdict, read_phrases
from nlp.errors import ConfigError
from nlp.pipeline import project_path
from nlp.segment import paragraph_ids

CLAIM = "Customers come first."
BACKING = "A real person answers every call within two minutes, and refunds are paid within 48 hours."
BACKED_LATER = f"{CLAIM} {BACKING}"
BACKED_EARLIER = f"Refunds are paid within 48 hours. {CLAIM}"
BACKED_SAME_SENTENCE = ("Customers come first: a person answers every call within two minutes, "
                        "and refunds are paid within 48 hours.")
OTHER_PARAGRAPH = f"{CLAIM}\n\n{BACKING}"
VAGUE_BACKING = f"{CLAIM} We will always provide the best service."
LEXICON_PARAPHRASE = "We treat every customer like family."
LEMMA_VARIANT = "Putting our customers first is what we do."
PARAPHRASE = "Nobody leaves our shop unhappy, that's our way."
BUZZ = "We are customer-obsessed and deliver world-class, seamless, award-winning experiences."
NEAR_MISSES = ["Customers can pay by card or cash.", "We have 2 million customers.",
               "Our customers are mostly small firms.", "A customer left a scarf in store 4."]
PARAGRAPHS = "We listen.\n\nRefunds in 48 hours. Calls answered fast.\n\n\nBye."

TEXTS = [CLAIM, BACKED_LATER, BACKED_EARLIER, BACKED_SAME_SENTENCE, OTHER_PARAGRAPH, VAGUE_BACKING,
         LEXICON_PARAPHRASE, LEMMA_VARIANT, PARAPHRASE, BUZZ, PARAGRAPHS, *NEAR_MISSES, "", " \n\n "]


@pytest.fixture(scope="module")
def docs(nlp):
    """Every text annotated once, in one batch (the encoder is the slow part)."""
    return dict(zip(TEXTS, nlp.pipe(TEXTS)))


def claims_by_text(doc) -> dict[str, dict | None]:
    return {s.text.strip(): s._.claim for s in doc.sents}


def claim_annotations(doc) -> dict:
    return {"sents": [(s.text, s._.claim) for s in doc.sents],
            "spans": [(s.start, s.end, s.label_) for s in doc.spans["claims"]]}


# --- the verdict ---------------------------------------------------------------------------------

def test_company_claim_without_commitment_is_lip_service():
    assert lip_service_verdict("company", False, 0, 0) == (True, ["company_perspective", "no_concrete_commitment"])


@pytest.mark.parametrize("perspective", [None, "neutral"])
def test_a_claim_not_said_from_the_customer_side_counts_as_company_perspective(perspective):
    lip, reasons = lip_service_verdict(perspective, False, 0, 0)
    assert lip and "company_perspective" in reasons


@pytest.mark.parametrize("perspective", ["company", "customer", "neutral", None])
@pytest.mark.parametrize("buzz", [(0, 0), (5, 9)])
def test_a_substantiated_claim_is_never_lip_service(perspective, buzz):
    assert lip_service_verdict(perspective, True, *buzz) == (False, [])


def test_customer_perspective_without_buzzwords_is_not_lip_service():
    assert lip_service_verdict("customer", False, 1, 2) == (False, [])


@pytest.mark.parametrize("buzz_sentence,buzz_paragraph", [(2, 2), (0, 3), (4, 7)])
def test_buzzword_density_makes_even_customer_voice_lip_service(buzz_sentence, buzz_paragraph):
    assert lip_service_verdict("customer", False, buzz_sentence, buzz_paragraph) == (
        True, ["no_concrete_commitment", "buzzword_density"])


def test_buzzword_thresholds_are_configurable():
    assert lip_service_verdict("customer", False, 2, 2, per_sentence=3, per_paragraph=5) == (False, [])
    assert lip_service_verdict("customer", False, 0, 5, per_sentence=3, per_paragraph=5)[0] is True


def test_all_reasons_together_and_from_the_documented_set():
    lip, reasons = lip_service_verdict("company", False, 2, 3)
    assert lip
    assert reasons == ["company_perspective", "no_concrete_commitment", "buzzword_density"]
    assert set(reasons) <= set(REASONS)


# --- paragraphs ----------------------------------------------------------------------------------

def hand_doc(words, spaces, sent_starts):
    return Doc(Vocab(), words=words, spaces=spaces, sent_starts=sent_starts)


def test_paragraph_ids_count_blank_lines():
    doc = hand_doc(["A", ".", "\n\n", "B", ".", "C", ".", "\n\n\n", "D"],
                   [False, False, False, False, True, False, False, False, False],
                   [True, False, False, True, False, True, False, False, True])
    assert doc.text == "A.\n\nB. C.\n\n\nD"
    assert [s.text.strip() for s in doc.sents] == ["A.", "B.", "C.", "D"]
    assert paragraph_ids(doc) == [0, 1, 1, 2]
    assert paragraph_ids(doc, min_newlines=3) == [0, 0, 0, 1]


def test_single_newline_does_not_start_a_paragraph_but_a_blank_line_with_spaces_does():
    doc = hand_doc(["A", ".", "\n", "B", ".", "\n \n", "C", "."],
                   [False] * 8, [True, False, False, True, False, False, True, False])
    assert paragraph_ids(doc) == [0, 0, 1]


def test_paragraph_ids_of_an_empty_doc():
    assert paragraph_ids(Doc(Vocab(), words=[])) == []


def test_paragraph_ids_on_the_real_pipeline(docs):
    doc = docs[PARAGRAPHS]
    assert [s.text.strip() for s in doc.sents] == ["We listen.", "Refunds in 48 hours.", "Calls answered fast.", "Bye."]
    assert paragraph_ids(doc) == [0, 1, 1, 2]


# --- lexicon files -------------------------------------------------------------------------------

def test_read_phrases_skips_comments_and_blank_lines(tmp_path):
    path = tmp_path / "claims.txt"
    path.write_text("# a header comment\n\ncustomers come first\n   \n  we listen   # trailing note\n#x\n"
                    "above and beyond\n", encoding="utf-8")
    assert read_phrases(path) == ["customers come first", "we listen", "above and beyond"]


def test_read_phrases_missing_file(tmp_path):
    missing = tmp_path / "nope.txt"
    with pytest.raises(ConfigError) as info:
        read_phrases(missing)
    assert str(missing) in str(info.value)


@pytest.mark.parametrize("content", ["", "\n\n", "# only a comment\n   \n# another\n"])
def test_read_phrases_empty_file(tmp_path, content):
    path = tmp_path / "empty.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        read_phrases(path)
    assert str(path) in str(info.value) and "empty" in str(info.value)


def test_shipped_lexicons_load(cfg):
    claims = read_phrases(project_path(cfg["paths"]["lexicons"]) / "claims.txt")
    buzz = read_phrases(project_path(cfg["paths"]["lexicons"]) / "buzzwords.txt")
    assert "customers come first" in claims and "world-class" in buzz
    assert not any(p.startswith("#") for p in claims + buzz)


# --- the component on the real pipeline -----------------------------------------------------------

def test_bare_claim_is_lip_service(docs):
    doc = docs[CLAIM]
    claim = claims_by_text(doc)[CLAIM]
    assert claim is not None
    assert claim["text"] == CLAIM
    assert claim["lexicon"] is True
    assert claim["lip_service"] is True
    assert claim["substantiated"] is False
    assert {"company_perspective", "no_concrete_commitment"} <= set(claim["reasons"])
    (span,) = doc.spans["claims"]
    assert span.label_ == "LIP_SERVICE" and span.text.strip() == CLAIM


def test_claim_substantiated_by_a_later_sentence_of_the_same_paragraph(docs):
    doc = docs[BACKED_LATER]
    found = claims_by_text(doc)
    assert list(found) == [CLAIM, BACKING]
    claim = found[CLAIM]
    assert claim is not None
    assert claim["substantiated"] is True
    assert claim["lip_service"] is False
    assert claim["reasons"] == []
    backing = next(s for s in doc.sents if s.text.strip() == BACKING)
    assert backing._.promise is not None and backing._.promise["specificity"] == "specific"
    assert [s.label_ for s in doc.spans["claims"] if s.text.strip() == CLAIM] == ["CLAIM"]


def test_claim_substantiated_by_an_earlier_sentence(docs):
    claim = claims_by_text(docs[BACKED_EARLIER])[CLAIM]
    assert claim is not None and claim["lip_service"] is False and claim["substantiated"] is True


def test_claim_substantiated_in_its_own_sentence(docs):
    claim = claims_by_text(docs[BACKED_SAME_SENTENCE])[BACKED_SAME_SENTENCE]
    assert claim is not None and claim["lip_service"] is False and claim["substantiated"] is True


def test_a_promise_in_another_paragraph_does_not_substantiate(docs):
    doc = docs[OTHER_PARAGRAPH]
    found = claims_by_text(doc)
    assert list(found) == [CLAIM, BACKING]
    claim = found[CLAIM]
    assert claim is not None
    assert claim["substantiated"] is False
    assert claim["lip_service"] is True
    assert "no_concrete_commitment" in claim["reasons"]
    assert paragraph_ids(doc) == [0, 1]


def test_claims_count_paragraphs_as_the_pipelines_paragraph_setting_does():
    """With three newlines to a paragraph, one blank line no longer parts the claim from its backing."""
    from nlp.pipeline import build_nlp, load_config

    nlp = build_nlp(load_config(overrides={"components.paragraphs.min_newlines": 3}))
    assert nlp.get_pipe("claims").paragraph_newlines == 3
    claim = claims_by_text(nlp(OTHER_PARAGRAPH))[CLAIM]
    assert claim is not None and claim["substantiated"] is True and claim["lip_service"] is False


def test_a_vague_promise_does_not_substantiate(docs):
    claim = claims_by_text(docs[VAGUE_BACKING])[CLAIM]
    assert claim is not None and claim["lip_service"] is True and claim["substantiated"] is False


@pytest.mark.parametrize("text", [LEXICON_PARAPHRASE, LEMMA_VARIANT])
def test_lexicon_claims_match_on_lemmas(docs, text):
    claim = claims_by_text(docs[text])[text]
    assert claim is not None and claim["lexicon"] is True


def test_paraphrase_missing_from_the_lexicon_is_found_by_the_head(docs):
    claim = claims_by_text(docs[PARAPHRASE])[PARAPHRASE]
    assert claim is not None
    assert claim["lexicon"] is False
    assert claim["p"] >= 0.5


def test_buzzword_density_is_a_reason(docs):
    claim = claims_by_text(docs[BUZZ])[BUZZ]
    assert claim is not None and claim["lip_service"] is True
    assert "buzzword_density" in claim["reasons"]


@pytest.mark.parametrize("text", NEAR_MISSES)
def test_near_misses_are_not_claims(docs, text):
    assert claims_by_text(docs[text]) == {text: None}
    assert len(docs[text].spans["claims"]) == 0


def test_every_claim_follows_the_verdict_rules(docs):
    seen = 0
    for doc in docs.values():
        for sent, para in zip(doc.sents, paragraph_ids(doc)):
            claim = sent._.claim
            if claim is None:
                continue
            seen += 1
            assert claim["paragraph"] == para
            assert set(claim["reasons"]) <= set(REASONS)
            assert 0.0 <= claim["p"] <= 1.0
            expected = (not claim["substantiated"]
                        and (sent._.perspective != "customer" or "buzzword_density" in claim["reasons"]))
            assert claim["lip_service"] is expected
            assert (claim["reasons"] == []) is (not claim["lip_service"])
    assert seen >= 10


def test_spans_are_exactly_the_claim_sentences(docs):
    for doc in docs.values():
        spans = {(s.start_char, s.end_char): s.label_ for s in doc.spans["claims"]}
        for sent in doc.sents:
            if sent._.claim is None:
                assert (sent.start_char, sent.end_char) not in spans
            else:
                assert spans[(sent.start_char, sent.end_char)] == ("LIP_SERVICE" if sent._.claim["lip_service"]
                                                                   else "CLAIM")


@pytest.mark.parametrize("text", ["", " \n\n "])
def test_empty_doc_has_empty_claim_spans(docs, text):
    assert "claims" in docs[text].spans
    assert len(docs[text].spans["claims"]) == 0


def test_predict_does_not_modify_docs(nlp, docs):
    component = nlp.get_pipe("claims")
    doc = doc_before(nlp, "claims", BACKED_LATER)
    assert "claims" not in doc.spans
    predictions = component.predict([doc])
    assert "claims" not in doc.spans
    assert all(s._.claim is None for s in doc.sents)
    component.set_annotations([doc], predictions)
    assert claim_annotations(doc) == claim_annotations(docs[BACKED_LATER])


def test_to_disk_and_spacy_load_round_trip(nlp, docs, tmp_path):
    nlp.to_disk(tmp_path / "pipeline")
    assert (tmp_path / "pipeline" / "claims" / HEAD_FILE).is_file()
    loaded = spacy.load(tmp_path / "pipeline")
    assert loaded.pipe_names == nlp.pipe_names
    for text, doc in zip(TEXTS, loaded.pipe(TEXTS)):
        assert claim_annotations(doc) == claim_annotations(docs[text]), text


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_a_lexicon_saved_with_a_byte_order_mark_or_as_utf16_keeps_every_phrase(tmp_path, encoding):
    # a byte-order mark stuck to the first phrase, which then never matched; UTF-16 was a UnicodeDecodeError
    path = tmp_path / "claims.txt"
    path.write_bytes("customers come first\nwe listen\n".encode(encoding))
    assert read_phrases(path) == ["customers come first", "we listen"]


def test_a_lexicon_in_another_encoding_or_a_directory_is_a_config_error(tmp_path):
    path = tmp_path / "claims.txt"
    path.write_bytes("caf\xe9 first\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"byte 3 is not UTF-8; save the lexicon as UTF-8"):
        read_phrases(path)
    with pytest.raises(ConfigError, match="is a directory"):
        read_phrases(tmp_path)


def test_an_empty_or_blank_doc_takes_the_empty_branch_even_without_a_parser():
    """spacy.blank("en") with lipservice_claims: "" raised spaCy's E155 (its lemma matcher on a Doc of nothing)."""
    import spacy

    blank = spacy.blank("en")
    blank.add_pipe("lipservice_claims")
    for text in ("", "   ", "\n\n"):
        doc = blank(text)
        assert list(doc.spans["claims"]) == []
