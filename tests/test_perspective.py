"""The shipped perspective component, end to end on the real pipeline."""
from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
import spacy

from nlp.errors import ConfigError
from nlp.heads import PERSPECTIVE_LABELS
from nlp.perspective import (
    HEAD_FILE,
    TUNED_FILE,
    PerspectiveComponent,
    design_matrix,
    perspective_probabilities,
)
from nlp.pipeline import PROJECT_ROOT

COMPANY = "We are the leading provider of award-winning payment solutions."
CUSTOMER = "You get your money back within 48 hours."
NEUTRAL = "Terms and conditions apply."

MIXED = [
    f"{COMPANY} {CUSTOMER} {NEUTRAL}",
    "Our Values\n\nWe care about every single customer. Book your table online.",
    "I waited two hours on the phone. Nobody called me back!",
    "Ledgerly is trusted by 240,000 small businesses. Send an invoice in under a minute.",
]


@pytest.fixture(scope="module")
def later_components(nlp) -> list[str]:
    """Components after `perspective` (promises, claims, ...): they cannot change its annotations,
    so child interpreters leave them out to start faster."""
    names = nlp.pipe_names
    return names[names.index("perspective") + 1:]


def annotations(doc) -> dict:
    """Everything the component writes, in a comparable form."""
    return {
        "sents": [(s.text, s._.perspective, s._.perspective_p, s._.perspective_probs) for s in doc.sents],
        "customer_share": doc._.customer_share,
        "perspective_counts": doc._.perspective_counts,
    }


@pytest.mark.parametrize("text,label", [(COMPANY, "company"), (CUSTOMER, "customer"), (NEUTRAL, "neutral")])
def test_clear_sentences_get_the_obvious_label(nlp, text, label):
    sents = list(nlp(text).sents)
    assert len(sents) == 1
    assert sents[0]._.perspective == label
    assert sents[0]._.perspective_p > 0.5


def test_every_sentence_is_annotated_with_a_valid_label_and_probability(nlp):
    for doc in nlp.pipe(MIXED):
        for sent in doc.sents:
            assert sent._.perspective in PERSPECTIVE_LABELS
            assert 0.0 <= sent._.perspective_p <= 1.0
            probs = sent._.perspective_probs
            assert set(probs) == set(PERSPECTIVE_LABELS)
            assert all(0.0 <= p <= 1.0 for p in probs.values())
            assert math.isclose(sum(probs.values()), 1.0, abs_tol=2e-3)  # rounded to 4 digits
            assert sent._.perspective_p == probs[sent._.perspective] == max(probs.values())


def test_doc_level_share_and_counts(nlp):
    doc = nlp(MIXED[0])
    assert [s._.perspective for s in doc.sents] == ["company", "customer", "neutral"]
    assert doc._.perspective_counts == {"company": 1, "customer": 1, "neutral": 1}
    assert doc._.customer_share == 0.5
    for doc in nlp.pipe(MIXED):
        counts = doc._.perspective_counts
        assert set(counts) == set(PERSPECTIVE_LABELS)
        assert sum(counts.values()) == len(list(doc.sents))
        sided = counts["company"] + counts["customer"]
        expected = round(counts["customer"] / sided, 4) if sided else None
        assert doc._.customer_share == expected


@pytest.mark.parametrize("text", [
    "",
    "   ",
    "\n\n",
], ids=["empty", "spaces", "blank-lines"])
def test_empty_doc_has_no_share_and_zero_counts(nlp, text):
    doc = nlp(text)
    assert doc._.customer_share is None
    assert doc._.perspective_counts == {"company": 0, "customer": 0, "neutral": 0}


def test_empty_docs_in_a_batch_with_real_ones(nlp):
    docs = list(nlp.pipe(["", CUSTOMER, ""]))
    assert docs[0]._.perspective_counts == {"company": 0, "customer": 0, "neutral": 0}
    assert docs[1]._.perspective_counts["customer"] == 1
    assert docs[2]._.customer_share is None


def test_leading_blank_line_adds_no_phantom_sentence_to_counts(nlp):
    doc = nlp("\n\n" + COMPANY)
    assert doc._.perspective_counts == {"company": 1, "customer": 0, "neutral": 0}


def test_predict_does_not_touch_docs_and_set_annotations_does(nlp, later_components):
    texts = [MIXED[0], "", MIXED[2]]
    with nlp.select_pipes(disable=["perspective", *later_components]):
        docs = list(nlp.pipe(texts))
    comp = nlp.get_pipe("perspective")
    assert isinstance(comp, PerspectiveComponent)
    preds = comp.predict(docs)
    assert [p.shape for p in preds] == [(len(list(d.sents)), 3) for d in docs]
    for doc in docs:
        assert doc._.customer_share is None and doc._.perspective_counts is None
        for sent in doc.sents:
            assert sent._.perspective is None
            assert sent._.perspective_p is None
            assert sent._.perspective_probs is None
    comp.set_annotations(docs, preds)
    assert docs[0]._.perspective_counts == {"company": 1, "customer": 1, "neutral": 1}
    assert all(s._.perspective in PERSPECTIVE_LABELS for d in docs for s in d.sents)
    assert annotations(docs[2]) == annotations(nlp(texts[2]))


def test_to_disk_and_spacy_load_round_trip(nlp, tmp_path):
    nlp.to_disk(tmp_path / "pipeline")
    assert (tmp_path / "pipeline" / "perspective" / HEAD_FILE).is_file()
    assert (tmp_path / "pipeline" / "perspective" / TUNED_FILE).is_file()
    loaded = spacy.load(tmp_path / "pipeline")
    assert loaded.pipe_names == nlp.pipe_names
    for text in MIXED + [COMPANY, ""]:
        assert annotations(loaded(text)) == annotations(nlp(text))


def _json_annotations(doc) -> dict:
    out = annotations(doc)
    out["sents"] = [list(s) for s in out["sents"]]
    return out


@pytest.mark.slow
def test_saved_pipeline_loads_in_a_fresh_interpreter_via_entry_points(nlp, tmp_path, later_components):
    """`spacy.load(dir)` without importing `nlp` first: the factories come from the entry points."""
    nlp.to_disk(tmp_path / "pipeline")
    assert not {"paragraphs", "perspective"} & set(later_components)
    script = (
        "import json, sys, spacy\n"
        "assert 'nlp' not in sys.modules\n"
        f"p = spacy.load({str(tmp_path / 'pipeline')!r}, exclude={later_components!r})\n"
        "out = []\n"
        f"for doc in p.pipe({MIXED!r}):\n"
        "    out.append({'sents': [[s.text, s._.perspective, s._.perspective_p, s._.perspective_probs]\n"
        "                          for s in doc.sents],\n"
        "                'customer_share': doc._.customer_share,\n"
        "                'perspective_counts': doc._.perspective_counts})\n"
        "print(json.dumps(out))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"},
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    fresh = json.loads(proc.stdout.strip().splitlines()[-1])
    assert fresh == [json.loads(json.dumps(_json_annotations(d))) for d in nlp.pipe(MIXED)]
    assert all(s[1] in PERSPECTIVE_LABELS for doc in fresh for s in doc["sents"])


def test_saved_pipeline_does_not_need_the_original_head_file(nlp, tmp_path):
    nlp.to_disk(tmp_path / "pipeline")
    gone = tmp_path / "moved_away"  # as on another machine: the build paths do not exist
    loaded = spacy.load(tmp_path / "pipeline", config={"components": {"perspective": {
        "model": str(gone / HEAD_FILE), "tuned_model": str(gone / TUNED_FILE)}}})
    assert annotations(loaded(COMPANY)) == annotations(nlp(COMPANY))


def test_same_texts_annotated_twice_give_identical_results(nlp):
    texts = [f"Determinism check {i}: our engineers reply within {i + 2} hours. You can call us." for i in range(4)]
    first = [annotations(d) for d in nlp.pipe(texts, batch_size=3)]
    second = [annotations(nlp(t)) for t in reversed(texts)][::-1]
    assert first == second


# nlp.pipe(n_process=2) runs in a child interpreter with a hard time limit, so a hang (see the
# xfail reason) cannot block the test session; the child's process group is killed afterwards.
MP_SCRIPT = r"""
import json, signal, sys
from nlp.pipeline import build_nlp, load_config

def ann(doc):
    return {"sents": [[s.text, s._.perspective, s._.perspective_p, s._.perspective_probs] for s in doc.sents],
            "customer_share": doc._.customer_share, "perspective_counts": doc._.perspective_counts}

texts = json.loads(sys.argv[1])
nlp = build_nlp(load_config())
for name in json.loads(sys.argv[2]):
    nlp.remove_pipe(name)  # only what perspective needs: keeps the child fast
nlp("Warm-up: the model is loaded before the workers are forked.")
signal.alarm(15)  # a hang kills this process instead of waiting for the test's timeout
two = [ann(d) for d in nlp.pipe(texts, n_process=2, batch_size=3)]  # texts unseen by the parent's cache
signal.alarm(0)
one = [ann(d) for d in nlp.pipe(texts, n_process=1, batch_size=3)]  # computed afresh in this process
print("RESULT " + json.dumps({"two": two, "one": one}), flush=True)
"""

MP_TEXTS = [f"Multiprocess sample {i}: we are proud of our {i} awards. You save {i * 5} dollars a month."
            for i in range(6)] + ["Terms apply.", "Call us today!", "Your parcel arrives tomorrow.", ""]


@pytest.mark.slow
def test_two_processes_give_the_same_labels_and_probabilities_as_one(later_components, tmp_path):
    out_file, err_file = tmp_path / "out.txt", tmp_path / "err.txt"
    with out_file.open("w") as out, err_file.open("w") as err:
        # files, not pipes: forked workers that outlive the child must not keep the test waiting
        proc = subprocess.Popen([sys.executable, "-c", MP_SCRIPT, json.dumps(MP_TEXTS), json.dumps(later_components)],
                                stdout=out, stderr=err, text=True, cwd=PROJECT_ROOT, start_new_session=True,
                                env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            pass
        finally:  # the child and any worker it forked share one process group: end them all
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
    lines = out_file.read_text().splitlines()
    results = [json.loads(line[len("RESULT "):]) for line in lines if line.startswith("RESULT ")]
    assert results, f"no result (exit {proc.returncode}): {err_file.read_text()[-1500:]}"
    two, one = results[0]["two"], results[0]["one"]
    assert len(two) == len(MP_TEXTS)
    assert two == one


class FixedDistribution:
    """Stands in for a fitted classifier with fixed probabilities: what is tested is the combining rule."""

    def __init__(self, classes, rows):
        self.classes_ = np.array(classes)
        self.rows = dict(rows)
        self.asked = []

    def predict_proba(self, texts):
        self.asked += list(texts)
        return np.array([self.rows[t] for t in texts], dtype=float)


def test_the_second_opinion_is_asked_only_below_the_threshold_and_aligned_by_class():
    texts = ["sure", "unsure", "edge"]
    head = FixedDistribution(["company", "customer", "neutral"],
                             {"sure": [0.97, 0.02, 0.01], "unsure": [0.5, 0.4, 0.1], "edge": [0.95, 0.05, 0.0]})
    # the fine-tuned model lists its classes in another order: columns are matched by name
    tuned = FixedDistribution(["neutral", "customer", "company"], {"unsure": [0.0, 0.9, 0.1]})
    p = perspective_probabilities(head, texts, tuned, texts, 0.95)
    assert tuned.asked == ["unsure"]  # 0.95 itself is sure
    assert np.allclose(p, [[0.97, 0.02, 0.01], [0.3, 0.65, 0.05], [0.95, 0.05, 0.0]])
    assert np.allclose(perspective_probabilities(head, texts, None, texts, 0.95), [head.rows[t] for t in texts])
    never = FixedDistribution(["company", "customer", "neutral"], {})
    assert np.allclose(perspective_probabilities(head, texts, never, texts, 0.0), [head.rows[t] for t in texts])


def test_sentences_get_the_head_or_the_mean_with_the_fine_tuned_model(nlp):
    component = nlp.get_pipe("perspective")
    doc = nlp(" ".join([COMPANY, CUSTOMER, NEUTRAL] + MIXED))
    sents = [s for s in doc.sents if s.text.strip()]
    head, tuned = component.require_head(), component.require_tuned()
    p = head.predict_proba(design_matrix(sents, component.encoder))
    q = tuned.predict_proba([s.text.strip() for s in sents])[:, [list(tuned.classes_).index(c) for c in head.classes_]]
    unsure = p.max(axis=1) < component.second_opinion_below
    assert unsure.any() and not unsure.all()  # both branches are exercised
    expected = np.round(np.where(unsure[:, None], (p + q) / 2, p), 4)
    got = [[s._.perspective_probs[str(c)] for c in head.classes_] for s in sents]
    assert np.allclose(got, expected, atol=1e-4)


@pytest.mark.parametrize("below", [-0.1, 1.5])
def test_a_bad_second_opinion_threshold_is_a_config_error(cfg, below):
    from nlp.pipeline import build_nlp

    bad = cfg.copy()
    bad["components"]["perspective"]["second_opinion_below"] = below
    with pytest.raises(ConfigError, match="second_opinion_below"):
        build_nlp(bad)
