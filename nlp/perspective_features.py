"""Grammatical cues of perspective, read off the spaCy parse of one sentence.

Who is the subject (we / you / I / a third party), whose things are named (our / your / my),
whether the sentence is an imperative addressed to the reader, and who benefits from the
main verb ("we will refund *you*"). The perspective head combines these with the embedding.
"""
from __future__ import annotations

import re

import numpy as np
from spacy.tokens import Span

from .doc_memo import once_per_sentence
from .segment import STUCK_MARKS

WE = {"we", "us", "our", "ours", "ourselves", "let's"}
YOU = {"you", "your", "yours", "yourself", "yourselves", "ya", "u", "ur"}
I = {"i", "me", "my", "mine", "myself", "im", "i'm", "ive", "i've", "id", "i'd"}
FEELING_LEMMAS = {"sorry", "apologize", "apologise", "apology", "thank", "thanks", "appreciate", "value",
                  "love", "happy", "glad", "proud", "passionate", "committed", "dedicated", "excited",
                  "understand", "regret", "hope", "delighted", "pleased"}
COMPANY_NOUNS = {"company", "team", "mission", "vision", "value", "brand", "firm", "employee", "staff",
                 "leader", "provider", "founder", "award", "innovation", "solution", "partner",
                 "shareholder", "portfolio", "segment", "subsidiary", "headquarters"}
BENEFIT_VERBS = {"get", "receive", "save", "keep", "earn", "enjoy", "pay", "cancel", "choose", "return",
                 "refund", "reimburse", "claim", "switch", "book", "order", "access", "use", "wait",
                 "spend", "lose", "charge", "owe"}
SUBJECT_DEPS = {"nsubj", "nsubjpass", "expl", "csubj"}
NUMERIC_ENTS = re.compile(r"(\d|£|\$|€|%|percent|hours?|days?|minutes?)", re.I)
HANDLE = re.compile(r"@\w+")
URL = re.compile(r"https?://\S+|www\.\S+")
_MARKS = re.compile(f"[{STUCK_MARKS}]+")

FEATURE_NAMES: tuple[str, ...] = (
    "subj_we", "subj_you", "subj_i", "subj_third", "subj_none",
    "share_we", "share_you", "share_i",
    "poss_our", "poss_your", "poss_my",
    "obj_you_or_me", "for_you", "imperative", "please", "question",
    "modal_can", "modal_will", "numeric", "feeling", "company_noun", "benefit_verb",
    "no_verb", "log_len", "handle", "url", "exclaim", "first_token_we", "first_token_you_i",
)


def is_mark(tok) -> bool:
    """A direction mark or zero-width space split off a word (``pipeline.split_off_marks``): no word to read."""
    return bool(_MARKS.fullmatch(tok.text))


def _lower(tok) -> str:
    return tok.lower_.replace("’", "'")


def sentence_features(sent: Span) -> np.ndarray:
    """A fixed-length float vector (see ``FEATURE_NAMES``) for one sentence."""
    f = dict.fromkeys(FEATURE_NAMES, 0.0)
    words = [t for t in sent if not (t.is_punct or t.is_space or is_mark(t))]
    n = max(len(words), 1)
    lowers = [_lower(t) for t in words]
    f["share_we"] = sum(w in WE for w in lowers) / n
    f["share_you"] = sum(w in YOU for w in lowers) / n
    f["share_i"] = sum(w in I for w in lowers) / n
    for t in sent:
        low = _lower(t)
        if t.dep_ == "poss" or t.tag_ == "PRP$":
            if low in WE:
                f["poss_our"] = 1.0
            elif low in YOU:
                f["poss_your"] = 1.0
            elif low in I:
                f["poss_my"] = 1.0
        if t.dep_ in {"dobj", "dative", "iobj"} and (low in YOU or low in {"me", "us"} and t.head.lemma_ not in {"dm", "contact", "message"}):
            f["obj_you_or_me"] = 1.0
        if t.dep_ == "pobj" and low in YOU and t.head.lower_ == "for":
            f["for_you"] = 1.0
        if t.lemma_.lower() in FEELING_LEMMAS:
            f["feeling"] = 1.0
        if t.lemma_.lower() in COMPANY_NOUNS:
            f["company_noun"] = 1.0
        if t.pos_ in {"VERB", "AUX"} and t.lemma_.lower() in BENEFIT_VERBS:
            f["benefit_verb"] = 1.0
        if t.tag_ == "MD":
            if low in {"can", "could", "may"}:
                f["modal_can"] = 1.0
            elif low in {"will", "'ll", "shall", "would", "'d"}:
                f["modal_will"] = 1.0
        if low == "please":
            f["please"] = 1.0
    root = sent.root
    subjects = [c for c in root.children if c.dep_ in SUBJECT_DEPS]
    if subjects:
        low = _lower(subjects[0])
        if low in WE:
            f["subj_we"] = 1.0
        elif low in YOU:
            f["subj_you"] = 1.0
        elif low in I:
            f["subj_i"] = 1.0
        else:
            f["subj_third"] = 1.0
    else:
        f["subj_none"] = 1.0
        if root.tag_ == "VB" or (words and words[0].tag_ == "VB") or (words and _lower(words[0]) == "please"):
            f["imperative"] = 1.0
    f["question"] = float(sent.text.rstrip().endswith("?"))
    f["exclaim"] = float("!" in sent.text)
    f["numeric"] = float(bool(NUMERIC_ENTS.search(sent.text)) or any(t.like_num for t in sent))
    f["no_verb"] = float(not any(t.pos_ in {"VERB", "AUX"} for t in sent))
    f["log_len"] = float(np.log1p(len(words)))
    f["handle"] = float(bool(HANDLE.search(sent.text)))
    f["url"] = float(bool(URL.search(sent.text)))
    if lowers:
        f["first_token_we"] = float(lowers[0] in WE)
        f["first_token_you_i"] = float(lowers[0] in YOU or lowers[0] in I)
    return np.fromiter((f[k] for k in FEATURE_NAMES), dtype=np.float32, count=len(FEATURE_NAMES))


LEXICAL_FEATURES = 2 ** 18  # hashed lexical-syntactic tokens; stateless, so nothing to fit or ship


def dependency_tokens(sent: Span) -> str:
    """Each word alone and tagged with its dependency role ("you_nsubj", "our_poss", "us_dobj")."""
    words = [t for t in sent if not (t.is_space or is_mark(t))]
    return " ".join(_lower(t) + "_" + t.dep_ for t in words) + " " + " ".join(_lower(t) for t in words)


def lexical_matrix(sents: list[Span]):
    """Hashed counts of word and word_role unigrams and bigrams (sparse, n × LEXICAL_FEATURES)."""
    from scipy.sparse import csr_matrix
    from sklearn.feature_extraction.text import HashingVectorizer

    if not sents:
        return csr_matrix((0, LEXICAL_FEATURES), dtype=np.float64)
    hv = HashingVectorizer(n_features=LEXICAL_FEATURES, ngram_range=(1, 2), alternate_sign=False, norm=None,
                           token_pattern=r"\S+", lowercase=False)
    return hv.transform([once_per_sentence(s, "dependency_tokens", dependency_tokens) for s in sents])


def features_matrix(sents: list[Span]) -> np.ndarray:
    """Stack ``sentence_features`` for many sentences (shape: n × len(FEATURE_NAMES))."""
    if not sents:
        return np.zeros((0, len(FEATURE_NAMES)), dtype=np.float32)
    return np.stack([once_per_sentence(sent, "features", sentence_features) for sent in sents])
