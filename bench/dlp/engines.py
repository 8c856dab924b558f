"""The two scanners under test, each behind one function: text -> [(kind, start, end)].

Wardgate: ``wardgate.detectors.scanner.Scanner`` with its defaults (every built-in detector).
Presidio: its pattern recognizers called directly, as its docs allow
(``Recognizer().analyze(text, entities, nlp_artifacts=None)``), then the same duplicate
removal ``AnalyzerEngine`` applies. No ``AnalyzerEngine`` is built, so no spaCy model is
loaded or downloaded; the engine's default score threshold is 0, so skipping its context
enhancer (which needs spaCy lemmas) changes scores but not which spans are returned.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

Span = tuple[str, int, int]

# Dataset entity type -> Wardgate kind (the types both sides are scored on).
DATASET_TO_KIND = {
    "EMAIL_ADDRESS": "email", "PHONE_NUMBER": "phone", "CREDIT_CARD": "credit_card",
    "IBAN_CODE": "iban", "US_SSN": "us_ssn", "IP_ADDRESS": "ip_address",
    "US_DRIVER_LICENSE": "driver_license", "PERSON": "person", "STREET_ADDRESS": "street_address",
}
STRUCTURED = ("email", "phone", "credit_card", "iban", "us_ssn", "ip_address")

# Wardgate kind -> the Presidio pattern recognizer for it. person and street_address need
# Presidio's NER (a spaCy model), which this benchmark does not load.
_PRESIDIO_FOR_KIND = {
    "email": "EmailRecognizer", "phone": "PhoneRecognizer", "credit_card": "CreditCardRecognizer",
    "iban": "IbanRecognizer", "us_ssn": "UsSsnRecognizer", "ip_address": "IpRecognizer",
    "driver_license": "UsLicenseRecognizer",
}
# Every generic English recognizer that runs without NLP: used on the secrets corpus.
_PRESIDIO_GENERIC = (*_PRESIDIO_FOR_KIND.values(), "UrlRecognizer", "UuidRecognizer",
                     "CryptoRecognizer", "DateRecognizer", "MacAddressRecognizer")


def wardgate(**options) -> Callable[[str], list[Span]]:
    from wardgate.detectors.scanner import Scanner

    scanner = Scanner(**options)

    def scan(text: str) -> list[Span]:
        return [(f.kind, f.start, f.end) for f in scanner.scan(text)]

    scan.scanner = scanner  # type: ignore[attr-defined]
    return scan


def presidio_version() -> str:
    from importlib.metadata import version
    return version("presidio-analyzer")


def _offline_tldextract() -> None:
    """EmailRecognizer validates the domain with tldextract, which fetches the public suffix
    list over the network on first use. Use the snapshot bundled with tldextract instead."""
    import tldextract
    from presidio_analyzer.predefined_recognizers.generic import email_recognizer

    offline = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    email_recognizer.tldextract = type("tldextract", (), {"extract": staticmethod(offline)})
    logging.getLogger("tldextract").setLevel(logging.ERROR)


def presidio(names: tuple[str, ...] | None = None) -> Callable[[str], list[Span]]:
    """Presidio's recognizers for our kinds (default) or the given recognizer class names."""
    import presidio_analyzer.predefined_recognizers as predefined
    from presidio_analyzer import EntityRecognizer

    _offline_tldextract()
    kind_of = {}
    recognizers = []
    for kind, cls in _PRESIDIO_FOR_KIND.items():
        kind_of[getattr(predefined, cls)().supported_entities[0]] = kind
    for cls in names or tuple(_PRESIDIO_FOR_KIND.values()):
        rec = getattr(predefined, cls)()
        recognizers.append((rec, rec.supported_entities))

    def scan(text: str) -> list[Span]:
        results = []
        for rec, entities in recognizers:
            results.extend(rec.analyze(text, entities=entities, nlp_artifacts=None) or ())
        results = EntityRecognizer.remove_duplicates(results)
        return [(kind_of.get(r.entity_type, r.entity_type), r.start, r.end) for r in results]

    return scan


def presidio_generic() -> Callable[[str], list[Span]]:
    return presidio(_PRESIDIO_GENERIC)


PRESIDIO_KINDS = tuple(_PRESIDIO_FOR_KIND)
PRESIDIO_RECOGNIZERS = tuple(_PRESIDIO_FOR_KIND.values())
PRESIDIO_GENERIC = _PRESIDIO_GENERIC
