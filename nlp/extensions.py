"""Every Doc/Span extension lipservice writes, declared once and installed idempotently."""
from __future__ import annotations

from spacy.tokens import Doc, Span

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
    """Register the extensions; calling it again is harmless."""
    for obj, name, default in EXTENSIONS:
        if not obj.has_extension(name):
            obj.set_extension(name, default=default)
