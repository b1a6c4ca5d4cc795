"""Language screening: records not in English are rejected with a reason, not mis-scored.

Registered as ``lipservice.LanguageScreen.v1`` (py3langid, whose model is a NumPy file
loaded without pickle). Short or uncertain texts pass: a record is rejected only when the
detector is confident it is in a language the pipeline does not read.
"""
from __future__ import annotations

from typing import Any, Sequence

from spacy.util import registry

from .errors import E_BAD_SETTING, E_LANGUAGE, ConfigError
from .records import Record, Reject


class LanguageScreen:
    """Turns a record whose language is confidently outside ``languages`` into a reject."""

    def __init__(self, languages: Sequence[str] = ("en",), min_chars: int = 40, min_p: float = 0.9,
                 sample_chars: int = 2000) -> None:
        if isinstance(languages, str):  # "en" would be the languages "e" and "n"
            languages = [languages]
        self.languages = tuple(str(code).strip().lower() for code in languages)  # langid's codes are lowercase
        if not 0.0 <= min_p <= 1.0:  # above 1 no language is ever sure enough: screening silently off
            raise ConfigError(f"batch.language.min_p = {min_p!r}: must lie in [0, 1] (a probability; the "
                              "default is 0.9); fix it in config.cfg or with --set", code=E_BAD_SETTING)
        self.min_chars = min_chars
        self.min_p = min_p
        self.sample_chars = sample_chars
        self._identifier = None

    def detect(self, text: str) -> tuple[str, float]:
        """``(language code, probability)`` of the text's start."""
        if self._identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            self._identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        lang, p = self._identifier.classify(text[:self.sample_chars])
        return str(lang), float(p)

    def check(self, record: Record) -> Reject | None:
        """A reject for a confidently non-English record, else None."""
        if not self.languages or len(record.text.strip()) < self.min_chars:
            return None
        lang, p = self.detect(record.text)
        if lang in self.languages or p < self.min_p:
            return None
        return Reject(record.source, record.position,
                      f"text is in language {lang!r} (p={p:.2f}), not {'/'.join(self.languages)}; "
                      "lipservice's models read English only", E_LANGUAGE)


def language_warnings(screen: LanguageScreen | None, record: dict) -> list[str]:
    """Why an annotated document's scores mean little, if its text is confidently not English: they
    would look clean (all neutral, no lip service). audit and gap carry it in every output."""
    if screen is None:
        return []
    text = " ".join(s["text"] for s in record["sentences"])
    problem = screen.check(Record(id=record["id"], text=text, source=record.get("source", ""), position="file"))
    return [f"{problem.reason}; its scores mean little"] if problem else []


def review_languages(screen: LanguageScreen | None, records: list[dict], shown: int = 3) -> dict[str, Any]:
    """How many reviews are confidently in a language the models do not read, by language, with the first
    ids: their complaint scores mean little, so the reviews report says so rather than counting them quietly."""
    by_language: dict[str, int] = {}
    first: list[str] = []
    for record in records if screen is not None and screen.languages else ():
        text = " ".join(s["text"] for s in record["sentences"])
        if len(text.strip()) < screen.min_chars:
            continue
        lang, p = screen.detect(text)
        if lang in screen.languages or p < screen.min_p:
            continue
        by_language[lang] = by_language.get(lang, 0) + 1
        if len(first) < shown:
            first.append(str(record["id"]))
    return {"not_read": sum(by_language.values()), "by_language": dict(sorted(by_language.items())),
            "first_ids": first}


def review_language_warnings(languages: dict[str, Any], reviews: int) -> list[str]:
    """The reviews report's warning for ``review_languages``' count, or none."""
    n = languages.get("not_read", 0)
    if not n:
        return []
    which = ", ".join(f"{lang} {k}" for lang, k in languages["by_language"].items())
    return [f"{n} of {reviews} review{'s' if reviews != 1 else ''} {'are' if n != 1 else 'is'} not in English "
            f"({which}; first: id {', id '.join(languages['first_ids'])}); lipservice's models read English only, "
            "so their complaint scores mean little"]


def screen_from_config(config: Any) -> LanguageScreen:
    """The screen ``[batch.language]`` configures: batch rejects with it, audit and gap warn with it."""
    return registry.resolve({"screen": config["batch"]["language"]})["screen"]


@registry.misc("lipservice.LanguageScreen.v1")
def make_language_screen(languages: list[str] = ["en"], min_chars: int = 40, min_p: float = 0.9,  # noqa: B006
                         sample_chars: int = 2000) -> LanguageScreen:
    """Config entry point: ``@misc = "lipservice.LanguageScreen.v1"``. An empty list turns screening off."""
    return LanguageScreen(languages, min_chars=min_chars, min_p=min_p, sample_chars=sample_chars)
