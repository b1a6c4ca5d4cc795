"""Theme discovery (nlp/themes.py, discovery part): class-based TF-IDF labels and the deterministic
clustering of unassigned complaints. Small synthetic unit-norm embeddings and hand-written term lists:
no spaCy model, no encoder."""
from __future__ import annotations

import numpy as np
import pytest

from nlp.themes import DiscoveredTheme, class_tfidf, discover_themes

DIM = 8
# (direction, size, terms of each point): three topics of different sizes; "service" is in every topic.
TOPICS = {
    "refund": (0, 7, ["refund", "money back", "service"]),
    "delivery": (1, 6, ["late delivery", "courier", "service"]),
    "crash": (2, 5, ["app crash", "login", "service"]),
}
OUTLIERS = (5, 6)  # directions with a single point each


def near(direction: int, rng: np.random.RandomState, noise: float = 0.05) -> np.ndarray:
    v = np.eye(DIM)[direction] + noise * rng.standard_normal(DIM)
    return v / np.linalg.norm(v)


def synthetic() -> tuple[np.ndarray, list[list[str]], dict[str, list[int]]]:
    """Shuffled embeddings, their terms, and the indices of each topic's points (and the outliers)."""
    rng = np.random.RandomState(0)
    points, terms, truth = [], [], []
    for name, (direction, size, words) in TOPICS.items():
        for _ in range(size):
            points.append(near(direction, rng))
            terms.append(list(words))
            truth.append(name)
    for direction in OUTLIERS:
        points.append(near(direction, rng))
        terms.append(["odd one"])
        truth.append("outlier")
    order = rng.permutation(len(points))  # topics interleaved, so "largest first" is not input order
    groups: dict[str, list[int]] = {}
    for new, old in enumerate(order):
        groups.setdefault(truth[old], []).append(new)
    return np.stack(points)[order], [terms[i] for i in order], groups


def memberships(themes: list[DiscoveredTheme]) -> list[list[int]]:
    return [t.members for t in themes]


# -- class_tfidf -----------------------------------------------------------------------------------

def test_class_tfidf_distinctive_term_first():
    out = class_tfidf([["refund"] * 4 + ["app"], ["late"] * 4 + ["app"], ["crash"] * 4 + ["app"]])
    assert [terms[0] for terms in out] == ["refund", "late", "crash"]


def test_class_tfidf_term_common_to_all_classes_ranks_low():
    # same frequency within each class: only distinctiveness separates them
    out = class_tfidf([["refund", "refund", "app", "app"], ["late", "late", "app", "app"],
                       ["crash", "crash", "app", "app"]])
    assert out == [["refund", "app"], ["late", "app"], ["crash", "app"]]


def test_class_tfidf_ties_alphabetical_and_deterministic():
    classes = [["pear", "apple", "fig", "kiwi", "date", "lime", "plum"], ["zucchini"]]
    first = class_tfidf(classes)
    assert first[0] == ["apple", "date", "fig", "kiwi", "lime"]  # all tied; top 5 alphabetically
    assert class_tfidf([list(reversed(classes[0])), classes[1]]) == first
    assert class_tfidf(classes, top=2) == [["apple", "date"], ["zucchini"]]


# -- discover_themes -------------------------------------------------------------------------------

def test_discovers_topics_largest_first_without_outliers():
    emb, terms, groups = synthetic()
    themes = discover_themes(emb, terms, seed=0, min_size=3)
    assert [t.id for t in themes] == ["discovered_1", "discovered_2", "discovered_3"]
    assert memberships(themes) == [groups["refund"], groups["delivery"], groups["crash"]]
    assert not {i for t in themes for i in t.members} & set(groups["outlier"])


def test_labels_come_from_distinctive_terms():
    emb, terms, _ = synthetic()
    themes = discover_themes(emb, terms, seed=0, min_size=3)
    assert [t.phrases[-1] for t in themes] == ["service"] * 3  # shared by every topic: least distinctive
    assert [set(t.phrases[:2]) for t in themes] == [{"refund", "money back"}, {"late delivery", "courier"},
                                                     {"app crash", "login"}]
    assert all(t.label == " / ".join(t.phrases[:3]) for t in themes)
    assert themes[0].label == "money back / refund / service"


def test_same_seed_same_result():
    emb, terms, _ = synthetic()
    runs = [discover_themes(emb, terms, seed=7, min_size=3, max_points=12) for _ in range(2)]
    assert runs[0] == runs[1]


@pytest.mark.parametrize("seed", range(5))
def test_points_outside_the_sample_join_their_cluster(seed):
    emb, terms, groups = synthetic()
    themes = discover_themes(emb, terms, seed=seed, min_size=3, max_points=10)  # 10 of 20 points clustered
    assert memberships(themes) == [groups["refund"], groups["delivery"], groups["crash"]]


@pytest.mark.parametrize("seed", range(10))  # the fringe point is outside the sample for some seeds, inside for others
def test_points_outside_the_sample_join_only_within_distance(seed):
    rng = np.random.RandomState(1)
    core = [near(0, rng, noise=0.01) for _ in range(6)]
    fringe = np.eye(DIM)[0] * np.cos(1.0) + np.eye(DIM)[3] * np.sin(1.0)  # cosine distance ~0.46 from the core
    emb = np.stack(core + [fringe])
    terms = [["refund"]] * 7
    wide = discover_themes(emb, terms, seed=seed, min_size=3, max_points=4, distance=0.55)
    narrow = discover_themes(emb, terms, seed=seed, min_size=3, max_points=4, distance=0.3)
    assert memberships(wide) == [list(range(7))]
    assert memberships(narrow) == [list(range(6))]


def test_fewer_points_than_min_size():
    emb, terms, _ = synthetic()
    assert discover_themes(emb[:2], terms[:2], seed=0, min_size=3) == []
    assert discover_themes(emb[:1], terms[:1], seed=0, min_size=1) == []


def test_max_points_of_one_does_not_crash():
    emb, terms, _ = synthetic()
    assert isinstance(discover_themes(emb, terms, seed=0, min_size=3, max_points=1), list)


def test_discovered_theme_to_json():
    theme = DiscoveredTheme(id="discovered_1", label="refund / money back", phrases=["refund", "money back"],
                            members=[4, 9, 11])
    assert theme.to_json() == {"id": "discovered_1", "label": "refund / money back",
                               "phrases": ["refund", "money back"], "size": 3}


def test_a_taxonomy_whose_themes_changed_since_the_head_was_trained_is_a_coded_error(tmp_path):
    """Adding a theme made scikit-learn fail on the width (399 features, expecting 398); renaming one
    kept giving the old name, which is no longer in the taxonomy."""
    import yaml

    from nlp.errors import ConfigError
    from nlp.pipeline import PROJECT_ROOT, build_nlp, load_config

    data = yaml.safe_load((PROJECT_ROOT / "corpora/taxonomy.yaml").read_text(encoding="utf-8"))
    data["themes"][0]["id"] = "shipping"  # was delivery
    renamed = tmp_path / "taxonomy.yaml"
    renamed.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ConfigError) as info:  # at load: nlp.load runs a document with a complaint through it
        build_nlp(load_config(overrides={"paths.taxonomy": str(renamed)}))
    assert info.value.code == "E310" and "(new: shipping; gone: delivery)" in str(info.value)
    data["themes"][0]["id"] = "delivery"
    data["themes"].append({**data["themes"][1], "id": "extra"})  # one theme more: the head reads one column less
    renamed.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ConfigError) as info:  # named, where the count of columns said only "398 ... 399"
        build_nlp(load_config(overrides={"paths.taxonomy": str(renamed)}))
    assert info.value.code == "E310" and "(new: extra; gone: -)" in str(info.value)
    assert "lipservice train --task complaints" in str(info.value)


def test_the_shipped_theme_head_gives_the_same_themes_with_the_taxonomy_reordered(tmp_path, nlp):
    """The head records the order of the themes it was trained with; a taxonomy whose themes were only
    reordered is read as before (each similarity column went to another theme, in silence)."""
    import yaml

    from nlp.pipeline import PROJECT_ROOT, build_nlp, load_config

    data = yaml.safe_load((PROJECT_ROOT / "corpora/taxonomy.yaml").read_text(encoding="utf-8"))
    data["themes"].reverse()
    reordered = tmp_path / "taxonomy.yaml"
    reordered.write_text(yaml.safe_dump(data), encoding="utf-8")
    texts = ["My parcel never arrived and the tracking has not moved in a week.",
             "They charged my card twice for the same bill.",
             "The agent hung up on me when I asked for a manager."]
    other = build_nlp(load_config(overrides={"paths.taxonomy": str(reordered)}))

    def themes_of(pipe):
        return [(s._.theme, s._.theme_p) for doc in pipe.pipe(texts) for s in doc.sents]

    assert themes_of(other) == themes_of(nlp)
    assert {t for t, _ in themes_of(nlp)} >= {"delivery", "billing", "staff"}


def test_a_redaction_never_labels_a_discovered_theme(nlp):
    """Exports blank out names and dates ("XXXX", "XX/XX/XXXX", as the CFPB does): a cluster of consumer
    complaints was labelled "xx xx xxxx"."""
    from nlp.themes import cluster_terms

    terms, = cluster_terms(nlp, ["On XX XX XXXX the XXXX collection agency reported a debt to my credit report."])
    assert terms and not any("xx" in t.split() or "xxxx" in t.split() for t in terms), terms
    assert "credit report" in terms and "debt" in terms


def test_the_shipped_theme_head_was_trained_on_the_shipped_taxonomy_s_wording():
    """Training records each theme's wording (``theme_digests_``): a swap of two ids, or a description edited
    since, is then named in a warning. The shipped head must match the shipped taxonomy, or every run warns."""
    from nlp.heads import load_head
    from nlp.pipeline import project_path
    from nlp.taxonomy import load_taxonomy

    head = load_head(project_path("models/themes.skops"))
    themes = load_taxonomy(project_path("corpora/taxonomy.yaml"))
    assert head.themes_ == [t.id for t in themes]
    assert head.theme_digests_ == {t.id: t.digest for t in themes}
