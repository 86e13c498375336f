"""The gateway's own detectors built from a rule's decoded options, without guardrails-ai.

The three validators in ``validators`` wrap these for guardrails-ai's registry, but a
policy that uses only them runs the detectors directly, so the gateway does not import
guardrails-ai at all for it: that import costs ~75 MB of resident memory (60 -> 135 MB
after building the full benchmark pipeline) and 2-3 s of start-up, against a budget of
120 MB per worker.
"""

from __future__ import annotations

from pathlib import Path

from gateway.guard.classifier import InjectionClassifier
from gateway.guard.findings import Detector
from gateway.guard.injection import InjectionDetector
from gateway.guard.options import InjectionOptions, PiiOptions, TermsOptions
from gateway.guard.pii import PiiDetector, PiiScanner
from gateway.guard.terms import TermMatcher, load_terms

_classifier: list[InjectionClassifier] = []


def shipped_classifier() -> InjectionClassifier:
    """The artifact is read once per process, whatever the number of rules using it."""
    if not _classifier:
        _classifier.append(InjectionClassifier.load())
    return _classifier[0]


def terms_detector(terms: list[str], terms_files: list[str]) -> TermMatcher:
    everything = list(terms)
    for path in terms_files:
        everything.extend(load_terms(str(Path(path))))
    return TermMatcher(everything)


def injection_detector(threshold: float, classifier: bool, decode: bool) -> InjectionDetector:
    return InjectionDetector(
        shipped_classifier() if classifier else None, threshold=threshold, decode=decode
    )


def own_detector(
    options: TermsOptions | PiiOptions | InjectionOptions, scanner: PiiScanner | None = None
) -> Detector:
    """``options`` decoded by ``options.decode_options`` (term files already resolved)."""
    if isinstance(options, TermsOptions):
        return terms_detector(options.terms, options.terms_files)
    if isinstance(options, PiiOptions):
        return PiiDetector(options.entities, scanner)
    return injection_detector(options.threshold, options.classifier, options.decode)
