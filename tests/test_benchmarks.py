"""nlp/benchmarks.py: the complaints benchmark reader and the cross-validation protocol."""
from __future__ import annotations

import csv

import pytest

from nlp.benchmarks import cross_validate_complaints, load_complaints_benchmark, normalise_tweet
from nlp.errors import InputError

COMPLAINTS = ["@Acme my parcel was due Monday and still has not arrived", "@Acme charged twice for one order!!",
              "@Acme the app keeps crashing when I pay", "@Acme third week waiting for my refund",
              "@Acme nobody answers the phone, an hour on hold", "@Acme my router has been down since Friday"]
OTHERS = ["@Acme do you deliver on Sundays?", "@Acme thanks, the new phone is great",
          "@Acme what time does the store open", "I hate Mondays http://t.co/x",
          "@Acme love the new menu", "@Acme can I change my delivery address?"]


@pytest.fixture
def bench_file(tmp_path):
    p = tmp_path / "complaints-data.csv"
    with p.open("w", newline="") as fh:
        w = csv.writer(fh)
        for i, t in enumerate(COMPLAINTS * 2 + OTHERS * 2):
            w.writerow([i, t, 1 if i < 2 * len(COMPLAINTS) else 0, "retail"])
    return p


def test_normalise_masks_handles_and_links():
    assert normalise_tweet("@Acme_Help look http://t.co/abc ok") == "@user look http ok"
    assert normalise_tweet("wrong shirt pic.twitter.com/infm7") == "wrong shirt http"  # photo links too


def test_reader_gives_texts_labels_domains(bench_file):
    texts, y, domains = load_complaints_benchmark(bench_file)
    assert len(texts) == 24 and y.sum() == 12 and domains[0] == "retail" and texts[0].startswith("@user")


def test_reader_errors_name_the_file_and_line(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_complaints_benchmark(tmp_path / "missing.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("1,text,maybe,retail\n")
    with pytest.raises(InputError, match="line 1"):
        load_complaints_benchmark(bad)


def test_cross_validation_reports_every_fold_and_vader(cfg, bench_file):
    result = cross_validate_complaints(cfg, bench_file, folds=3)
    assert [f["fold"] for f in result["folds"]] == [1, 2, 3]
    assert sum(f["n"] for f in result["folds"]) == 24
    assert 0.0 <= result["macro_f1"] <= 1.0 and set(result["baseline_vader"]) >= {"macro_f1", "f1_complaint"}
    assert result["protocol"].startswith("stratified 3-fold") and result["published"]
    again = cross_validate_complaints(cfg, bench_file, folds=3)
    assert again["folds"] == result["folds"]  # fixed seed: the same folds and figures


SEMEVAL = """<?xml version="1.0" encoding="UTF-8"?>
<sentences>
 <sentence id="1"><text>The waiter ignored us for an hour.</text><aspectCategories>
  <aspectCategory category="service" polarity="negative"/></aspectCategories></sentence>
 <sentence id="2"><text>Great food but rude staff.</text><aspectCategories>
  <aspectCategory category="food" polarity="positive"/><aspectCategory category="service" polarity="negative"/>
 </aspectCategories></sentence>
 <sentence id="3"><text>Overpriced and cold.</text><aspectCategories>
  <aspectCategory category="price" polarity="negative"/><aspectCategory category="food" polarity="negative"/>
 </aspectCategories></sentence>
 <sentence id="4"><text>Lovely place.</text><aspectCategories>
  <aspectCategory category="ambience" polarity="positive"/></aspectCategories></sentence>
</sentences>
"""


def test_semeval_reader_keeps_sentences_with_one_negative_category(tmp_path):
    from nlp.benchmarks import semeval_negative

    p = tmp_path / "r.xml"
    p.write_text(SEMEVAL)
    texts, gold = semeval_negative(p)
    assert texts == ["The waiter ignored us for an hour.", "Great food but rude staff."]
    assert gold == ["service", "service"]


def test_cfpb_reader_skips_empty_narratives_and_stops_at_the_limit(tmp_path):
    from nlp.benchmarks import cfpb_narratives

    p = tmp_path / "c.csv"
    with p.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Issue", "Consumer complaint narrative"])
        w.writerows([["Late fee", "They charged a late fee twice."], ["Other", ""], ["Debt", "Not my debt."],
                     ["Debt", "Again."]])
    assert cfpb_narratives(p, limit=2) == (["They charged a late fee twice.", "Not my debt."], ["Late fee", "Debt"])


def test_our_themes_give_every_text_a_label(nlp, cfg):
    from nlp.benchmarks import our_themes

    texts = ["The waiter was rude to us.", "The staff ignored us all night.", "Our food came cold.",
             "The soup was cold and bland.", "Far too expensive for what you get.", "Prices went up again."]
    emb = nlp.get_pipe("themes").encoder.encode(texts)
    labels = our_themes(nlp, cfg, texts, emb)
    assert len(labels) == len(texts) and all(isinstance(x, str) and x for x in labels)
    assert labels[0] == labels[1] == "staff" and labels[4] == "price_fees"
