"""The editable theme taxonomy: the shipped file loads; a broken one is refused with a message that
names the file, the theme and what is wrong. A sentence is matched to the themes by nearest
description or by the theme head, which says why when it leaves a sentence unassigned."""
from __future__ import annotations

import copy
import textwrap

import numpy as np
import pytest

from nlp.errors import ConfigError, UsageError
from nlp.pipeline import PROJECT_ROOT, project_path
from nlp.taxonomy import E_TAXONOMY, UNASSIGNED, Theme, ThemeMatcher, decide_themes, load_taxonomy

SHIPPED = PROJECT_ROOT / "corpora" / "taxonomy.yaml"

GOOD_THEME = """\
  - id: delivery
    label: Delivery
    description: Getting the order to the customer.
    seeds: [late delivery, parcel never arrived, next-day delivery]
"""


def write(tmp_path, body: str, name: str = "taxonomy.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def refused(path) -> str:
    with pytest.raises(ConfigError) as info:
        load_taxonomy(path)
    err = info.value
    assert isinstance(err, UsageError) and err.exit_code == 2
    assert err.code == E_TAXONOMY
    message = str(err)
    assert str(path) in message  # names the file
    return message


def test_shipped_taxonomy_loads(cfg):
    themes = load_taxonomy(project_path(cfg["paths"]["taxonomy"]))
    assert len(themes) >= 12
    ids = [t.id for t in themes]
    assert len(ids) == len(set(ids))
    assert "unassigned" not in ids
    for t in themes:
        assert isinstance(t, Theme)
        assert t.label.strip() and t.description.strip()
        assert len(t.seeds) >= 3
        assert t.prompt_texts == [t.description, *t.seeds]


def test_the_config_points_at_the_shipped_taxonomy(cfg):
    assert project_path(cfg["paths"]["taxonomy"]) == SHIPPED


def test_a_minimal_valid_file_loads(tmp_path):
    themes = load_taxonomy(write(tmp_path, "themes:\n" + GOOD_THEME))
    assert themes == [Theme("delivery", "Delivery", "Getting the order to the customer.",
                            ("late delivery", "parcel never arrived", "next-day delivery"))]


def test_bad_yaml_names_the_line(tmp_path):
    path = write(tmp_path, "themes:\n" + GOOD_THEME + "  - id: billing\n    label: [unclosed\n    description: x\n")
    message = refused(path)
    assert "YAML" in message
    assert "line " in message
    line = int(message.split("line ", 1)[1].split(":", 1)[0])
    assert 6 <= line <= 8  # the broken flow sequence starts on line 7


@pytest.mark.parametrize("body", ["version: 1\n", "themes: []\n", "themes: delivery\n", "- id: delivery\n", ""])
def test_missing_themes_list(tmp_path, body):
    assert "themes" in refused(write(tmp_path, body))


def test_duplicate_id(tmp_path):
    message = refused(write(tmp_path, "themes:\n" + GOOD_THEME + GOOD_THEME))
    assert "theme #2" in message and "'delivery'" in message
    assert "used twice" in message
    assert "theme #1" not in message  # the first use is fine


def test_reserved_id_unassigned(tmp_path):
    message = refused(write(tmp_path, "themes:\n" + GOOD_THEME.replace("id: delivery", "id: unassigned")))
    assert "'unassigned'" in message and "reserved" in message


@pytest.mark.parametrize("bad_id", ["Delivery", "delivery-fast", "1delivery", "''"])
def test_badly_formed_id(tmp_path, bad_id):
    message = refused(write(tmp_path, "themes:\n" + GOOD_THEME.replace("id: delivery", f"id: {bad_id}")))
    assert "theme #1" in message and "lowercase_with_underscores" in message


def test_missing_description(tmp_path):
    body = "themes:\n" + GOOD_THEME + GOOD_THEME.replace("delivery", "billing").replace(
        "    description: Getting the order to the customer.\n", "")
    message = refused(write(tmp_path, body))
    assert "theme #2 ('billing')" in message
    assert "missing description" in message


def test_blank_label(tmp_path):
    message = refused(write(tmp_path, "themes:\n" + GOOD_THEME.replace("label: Delivery", "label: '  '")))
    assert "'delivery'" in message and "missing label" in message


@pytest.mark.parametrize("seeds", ["[late delivery, lost parcel]", "[]", "late delivery", "[late, '', lost]"])
def test_fewer_than_three_seed_phrases(tmp_path, seeds):
    body = "themes:\n" + GOOD_THEME.replace("[late delivery, parcel never arrived, next-day delivery]", seeds)
    message = refused(write(tmp_path, body))
    assert "'delivery'" in message
    assert "at least 3" in message


def test_unknown_key(tmp_path):
    body = "themes:\n" + GOOD_THEME + "    colour: blue\n"
    message = refused(write(tmp_path, body))
    assert "'delivery'" in message
    assert "colour" in message and "allowed" in message


def test_every_problem_is_reported_at_once(tmp_path):
    body = "themes:\n" + GOOD_THEME + GOOD_THEME.replace("delivery", "billing").replace(
        "    description: Getting the order to the customer.\n", "") + "    colour: blue\n"
    message = refused(write(tmp_path, body))
    assert "missing description" in message and "colour" in message


def test_theme_that_is_not_a_mapping(tmp_path):
    assert "theme #2" in refused(write(tmp_path, "themes:\n" + GOOD_THEME + "  - just a string\n"))


def test_missing_file(tmp_path):
    missing = tmp_path / "nowhere" / "taxonomy.yaml"
    with pytest.raises(ConfigError) as info:
        load_taxonomy(missing)
    assert str(missing) in str(info.value)
    assert "not found" in str(info.value)


def test_a_directory_is_not_a_taxonomy_file(tmp_path):
    with pytest.raises(ConfigError):
        load_taxonomy(tmp_path)


def test_non_utf8_file_is_a_config_error(tmp_path):
    path = tmp_path / "taxonomy.yaml"
    path.write_bytes(b"themes:\n  - id: caf\xe9\n")
    refused(path)


# --- matching a sentence to the themes -------------------------------------------------------------

def test_the_nearest_theme_description_or_none_below_the_floor(encoder):
    themes = load_taxonomy(SHIPPED)
    emb = encoder.encode(["My parcel never arrived.", "Saturn has many moons."])
    matcher = ThemeMatcher(themes, encoder, 0.2)
    (late, late_sim), (other, other_sim) = matcher.assign(emb)
    assert late == "delivery" and late_sim >= 0.2
    assert other is None and other_sim < 0.2  # like no theme: no theme rather than the least bad one
    assert ThemeMatcher(themes, encoder, -1.0).assign(emb)[1][0] is not None
    assert matcher.assign(emb[:0]) == []


def test_the_theme_head_decides_and_says_why_it_did_not():
    """decide_themes reads rows of [embedding | similarity to each theme] with a real estimator."""
    from sklearn.linear_model import LogisticRegression

    themes = [Theme("delivery", "Delivery", "d", ("a", "b", "c")), Theme("billing", "Billing", "b", ("a", "b", "c"))]
    matcher = ThemeMatcher(themes, encoder=None, min_similarity=0.2)
    X = np.array([[1.0, 0.0, 0.6, 0.1], [0.9, 0.1, 0.5, 0.1], [0.0, 1.0, 0.1, 0.6], [0.1, 0.9, 0.1, 0.5]])
    head = LogisticRegression(C=100.0).fit(X, ["delivery", "delivery", "billing", "billing"])
    rows = np.array([[1.0, 0.0, 0.6, 0.1],  # clearly delivery
                     [0.5, 0.5, 0.05, 0.05],  # torn, and like no theme's description
                     [0.5, 0.5, 0.35, 0.35]])  # torn between two themes it resembles
    sure, unlike, torn = decide_themes(head, matcher, 0.9, rows)
    assert sure[0] == "delivery" and sure[1] >= 0.9 and sure[2] is None
    assert unlike[0] == UNASSIGNED and "like no taxonomy theme (best similarity 0.05 < 0.2)" in unlike[2]
    assert torn[0] == UNASSIGNED and "no theme is likely enough" in torn[2] and "< 0.9" in torn[2]
    assert [t for t, _, _ in decide_themes(head, matcher, 0.0, rows)][0] == "delivery"


def test_a_theme_head_reads_a_reordered_taxonomy_as_before_and_names_a_changed_one():
    """The head's last columns are similarities in the taxonomy's order: reordering the file fed each column
    to the head as another theme's, in silence. Training records the order (``themes_``)."""
    from sklearn.linear_model import LogisticRegression

    delivery, billing = (Theme(i, i.title(), i, ("a", "b", "c")) for i in ("delivery", "billing"))
    X = np.array([[0.0, 0.9, 0.1], [0.0, 0.8, 0.2], [0.0, 0.1, 0.9], [0.0, 0.2, 0.8]])
    head = LogisticRegression(C=100.0).fit(X, ["delivery", "delivery", "billing", "billing"])
    head.themes_ = ["delivery", "billing"]
    rows = np.array([[0.0, 0.85, 0.1], [0.0, 0.1, 0.85]])  # built in the trained order
    as_trained = decide_themes(head, ThemeMatcher([delivery, billing], None, 0.0), 0.0, rows)
    reordered = decide_themes(head, ThemeMatcher([billing, delivery], None, 0.0), 0.0, rows[:, [0, 2, 1]])
    assert [t for t, _, _ in as_trained] == [t for t, _, _ in reordered] == ["delivery", "billing"]
    assert [p for _, p, _ in as_trained] == [p for _, p, _ in reordered]
    refunds = Theme("refunds", "Refunds", "r", ("a", "b", "c"))
    with pytest.raises(ConfigError, match=r"new: refunds; gone: -\); retrain it") as info:
        decide_themes(head, ThemeMatcher([delivery, refunds, billing], None, 0.0), 0.0, rows)
    assert info.value.code == E_TAXONOMY


def test_a_theme_reworded_or_two_ids_swapped_since_training_is_a_warning_once(caplog, monkeypatch):
    """Ids alone cannot tell two swapped themes apart (each id's columns went to the other's wording, in
    silence); training records a checksum of each theme's wording (``theme_digests_``)."""
    import logging

    from sklearn.linear_model import LogisticRegression

    from nlp import taxonomy

    monkeypatch.setattr(taxonomy, "_WARNED", set())

    delivery, billing = (Theme(i, i.title(), f"about {i}", ("a", "b", "c")) for i in ("delivery", "billing"))
    X = np.array([[0.0, 0.9, 0.1], [0.0, 0.8, 0.2], [0.0, 0.1, 0.9], [0.0, 0.2, 0.8]])
    head = LogisticRegression(C=100.0).fit(X, ["delivery", "delivery", "billing", "billing"])
    head.themes_ = ["delivery", "billing"]
    head.theme_digests_ = {"delivery": delivery.digest, "billing": billing.digest}
    rows = np.array([[0.0, 0.85, 0.1]])
    swapped = [Theme("delivery", "Delivery", "about billing", billing.seeds),
               Theme("billing", "Billing", "about delivery", delivery.seeds)]
    reworded = [Theme("delivery", "Delivery", "about delivery", ("a", "b", "late parcel")), billing]
    reordered = Theme("delivery", "Delivery", "about delivery", ("c", "a", "b"))  # the same centroid
    with caplog.at_level(logging.WARNING, logger="nlp.taxonomy"):
        decide_themes(head, ThemeMatcher([delivery, billing], None, 0.0), 0.0, rows)
        decide_themes(head, ThemeMatcher([reordered, billing], None, 0.0), 0.0, rows)
        assert not caplog.records  # as trained, or its seed phrases only reordered: nothing to say
        for _ in range(3):  # batches, and a second component's copy of the head
            decide_themes(head, ThemeMatcher(swapped, None, 0.0), 0.0, rows)
        decide_themes(copy.deepcopy(head), ThemeMatcher(swapped, None, 0.0), 0.0, rows)
        decide_themes(head, ThemeMatcher(reworded, None, 0.0), 0.0, rows)
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 2, said  # once per change, not once per batch
    assert "of billing, delivery changed since the theme head was trained" in said[0]
    assert "of delivery changed" in said[1] and "lipservice train --task complaints" in said[1]
