"""nlp/benchmarks.py: the complaints benchmark reader and the cross-validation protocol."""
from __future__ import annotations

import csv

import pytest

from nlp.benchmarks import cross_validate_complaints, load_complaints_benchmark, normalise_tweet
from nlp.errors import (
    E_BAD_FIELD,
    E_BAD_LABELS,
    E_BINARY,
    E_EMPTY_FILE,
    E_ENCODING,
    E_NOT_FOUND,
    InputError,
    UsageError,
)

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


def refused(path, code: str, *has: str) -> str:
    """The reader's error for ``path``: its code, the file's name, each of ``has``, and the expected format."""
    with pytest.raises(InputError) as info:
        load_complaints_benchmark(path)
    message = str(info.value)
    assert info.value.code == code and str(path) in message and "\n" not in message
    assert "id,text,label,domain" in message or code == E_NOT_FOUND
    for part in has:
        assert part in message
    return message


def test_a_latin1_file_is_a_coded_error_with_line_and_column(tmp_path):
    p = tmp_path / "latin.csv"
    p.write_bytes(b"1,Caf\xe9 was closed again,1,food\n2,ok,0,food\n")
    refused(p, E_ENCODING, "line 1, column 6", "0xe9", "re-save the file as UTF-8")


@pytest.mark.parametrize("data, code, has", [
    (b"", E_EMPTY_FILE, "empty file"),
    (b"\n\n  \n", E_EMPTY_FILE, "empty file"),
    (b"id,text,label,domain\n", E_EMPTY_FILE, "no rows"),
    (b"1,fine,1,x\n2,Hello, world,0,food\n", E_BAD_FIELD, "line 2: 5 fields, not 4 (a text with commas"),
    (b"1,fine,1,x\n2,Hello\n", E_BAD_FIELD, "line 2: 2 fields, not 4"),
    (b"1,fine,1,x\n2,Hello,yes,food\n3,Hi,2,x\n", E_BAD_LABELS,
     "line 2: label 'yes' is not 0 or 1 (third field); 1 more bad row"),
    (b"1,,1,food\n", E_BAD_FIELD, "line 1: empty text"),
    (b'1,"Hello,1,food\n2,ok,0,food\n', E_BAD_FIELD, "line 1: 2 fields, not 4 (a quote that is never closed?)"),
    # a quote left open swallows the rest of a long file too; whatever another reader set csv's limit to
    (b'1,"Hello,1,food\n' + b"2,ok,0,food\n" * 20000, E_BAD_FIELD, "line 1: 2 fields, not 4 (a quote that is never"),
    (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", E_BINARY, "gzip-compressed data, not a CSV; decompress it first"),
])
def test_a_file_that_is_not_the_benchmark_layout_is_one_coded_error(tmp_path, data, code, has):
    p = tmp_path / "mine.csv"
    p.write_bytes(data)
    refused(p, code, has)


def test_missing_files_and_folders(tmp_path):
    refused(tmp_path / "missing.csv", E_NOT_FOUND, "not found", "pass --data")
    refused(tmp_path, E_NOT_FOUND, "a folder without complaints-data.csv")


def test_blank_lines_a_header_a_bom_and_utf16_are_read(tmp_path, bench_file):
    rows = bench_file.read_text().splitlines()
    p = tmp_path / "mine.csv"
    p.write_text("\ufeffid,text,label,domain\r\n" + "\r\n\r\n".join(rows) + "\r\n\r\n", encoding="utf-8")
    texts, y, domains = load_complaints_benchmark(p)
    assert (texts, y.tolist(), domains) == tuple(
        v.tolist() if hasattr(v, "tolist") else v for v in load_complaints_benchmark(bench_file))
    p.write_text("\n".join(rows[:3]) + "\n", encoding="utf-16")
    assert len(load_complaints_benchmark(p)[0]) == 3
    assert load_complaints_benchmark(bench_file.parent)[0][0] == texts[0]  # a folder with complaints-data.csv


def test_too_few_rows_for_the_folds_are_refused_before_any_model_is_loaded(tmp_path, cfg):
    import copy

    no_models = copy.deepcopy(cfg)
    no_models["lipservice"]["base_models"] = ["no-such-spacy-model"]  # loading any model would fail
    p = tmp_path / "six.csv"
    p.write_text("".join(f"{i},tweet {i} about my order,{i % 2},retail\n" for i in range(6)))
    with pytest.raises(UsageError, match=r"6 rows, 3 complaints \(label 1\) and 3 not \(label 0\): stratified "
                                         r"--folds 10 needs each label on 10 rows at least; use --folds 2 to 3"):
        cross_validate_complaints(no_models, p, folds=10)
    p.write_text("".join(f"{i},tweet {i},1,retail\n" for i in range(6)))
    with pytest.raises(UsageError, match="one label; add rows labelled 0") as info:
        cross_validate_complaints(no_models, p, folds=2)
    assert info.value.code == E_BAD_LABELS


def test_the_cli_prints_one_coded_line_for_a_bad_data_file(tmp_path):
    from typer.testing import CliRunner

    from nlp.cli import app

    p = tmp_path / "latin.csv"
    p.write_bytes(b"1,Caf\xe9 was closed again,1,food\n2,ok,0,food\n")
    result = CliRunner().invoke(app, ["benchmark", "complaints", "--data", str(p)])
    assert result.exit_code == 2 and "[E113]" in result.output and "Traceback" not in result.output
    p.write_text("".join(f"{i},tweet {i} about my order,{i % 2},retail\n" for i in range(6)))
    result = CliRunner().invoke(app, ["benchmark", "complaints", "--data", str(p)])
    assert result.exit_code == 2 and "use --folds 2 to 3" in result.output
    p.write_text("".join(f"{i},tweet {i} about my order,{i % 2},retail\n" for i in range(4)))
    result = CliRunner().invoke(app, ["benchmark", "complaints", "--data", str(p)])
    assert "use --folds 2, or add rows" in " ".join(result.output.split())  # not "--folds 2 to 2"


def test_cross_validation_reports_every_fold_and_vader(cfg, bench_file):
    result = cross_validate_complaints(cfg, bench_file, folds=3)
    assert [f["fold"] for f in result["folds"]] == [1, 2, 3]
    assert sum(f["n"] for f in result["folds"]) == 24
    assert 0.0 <= result["macro_f1"] <= 1.0 and set(result["baseline_vader"]) >= {"macro_f1", "f1_complaint"}
    assert result["protocol"].startswith("stratified 3-fold") and result["published"]
    assert "published" not in cross_validate_complaints(cfg, bench_file, folds=3, published=False)
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


def test_zero_shot_scores_the_file_data_names(nlp, bench_file):
    from nlp.benchmarks import zero_shot_metrics

    (title, systems), = zero_shot_metrics(nlp, bench_file).items()  # the file itself, not ../shared/data's
    assert title == "Twitter complaints benchmark, all 24 tweets (zero-shot)"  # was the repr of a dict of labels
    assert all(m["n"] == 24 for m in systems.values())
    assert next(iter(zero_shot_metrics(nlp, bench_file.parent).values()))  # a folder holding complaints-data.csv
    (title, _), = zero_shot_metrics(nlp, bench_file, "mine.csv").items()
    assert title == "mine.csv (in the benchmark's format), all 24 tweets (zero-shot)"


def test_the_theme_benchmark_names_a_file_given_for_its_folder_before_any_model_loads(tmp_path):
    """A file as --data was said to lack FILE/semeval2014-absa/Restaurants_Train.xml."""
    from typer.testing import CliRunner

    from nlp.cli import app

    p = tmp_path / "good.csv"
    p.write_text("text,label\nLate.,complaint\n")
    result = CliRunner().invoke(app, ["benchmark", "themes", "--data", str(p)])
    assert result.exit_code == 2 and "a file; the theme benchmark reads the shared data folder" in " ".join(
        result.output.split())
    result = CliRunner().invoke(app, ["benchmark", "themes", "--data", str(tmp_path)])
    assert result.exit_code == 2 and "Restaurants_Train.xml: not found" in " ".join(result.output.split())
