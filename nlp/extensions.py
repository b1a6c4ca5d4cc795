"""Every Doc/Span extension lipservice writes, declared once and installed idempotently."""
from __future__ import annotations

from spacy.tokens import Doc, Span

from .errors import E_BAD_SETTING, ConfigError

#: (object, name, default) — the single list of extensions; components only write them.
EXTENSIONS: tuple[tuple[type, str, object], ...] = (
    (Span, "perspective", None),  # "company" | "customer" | "neutral"
    (Span, "perspective_p", None),  # probability of that label
    (Span, "perspective_probs", None),  # {label: probability}
    (Span, "promise", None),  # the promise dict of a sentence, or None (promises component)
    (Span, "claim", None),  # the claim dict of a sentence, or None (claims component)
    (Span, "complaint_p", None),  # probability that the sentence states a breach of expectations
    (Span, "theme", None),  # complaint theme id, or "unassigned" (themes component)
    (Span, "theme_p", None),  # confidence of that theme
    (Span, "theme_reason", None),  # why a complaint is unassigned, else None
    (Doc, "complaint_p", None),  # the most likely complaint sentence's probability
    (Doc, "complaint_rate", None),  # complaint sentences / sentences
    (Doc, "customer_share", None),  # customer / (company + customer) sentences, None if neither
    (Doc, "perspective_counts", None),  # {label: count}
)


def install_extensions() -> None:
    """Register the extensions; calling it again is harmless. One that other code registered under the same
    name with a getter, setter, method or another default is refused: its values would hide lipservice's."""
    for obj, name, default in EXTENSIONS:
        if not obj.has_extension(name):
            obj.set_extension(name, default=default)
        elif obj.get_extension(name) != (default, None, None, None):
            kept, method, getter, setter = obj.get_extension(name)
            how = ("a getter" if getter else "a method" if method else "a setter" if setter else f"default {kept!r}")
            raise ConfigError(f"{obj.__name__}._.{name} is registered already, by other code, with {how}: lipservice "
                              f"writes that extension, so its values would be hidden or lost; register yours under "
                              f"another name, or remove it first ({obj.__name__}.remove_extension({name!r}))",
                              code=E_BAD_SETTING)
