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
    (Doc, "customer_share", None),  # customer / (company + customer) sentences, None if neither
    (Doc, "perspective_counts", None),  # {label: count}
)


def install_extensions() -> None:
    """Register the extensions; calling it again is harmless."""
    for obj, name, default in EXTENSIONS:
        if not obj.has_extension(name):
            obj.set_extension(name, default=default)
