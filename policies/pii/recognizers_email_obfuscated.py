"""E-mail addresses written to slip past a filter: ``john [dot] doe [at] example [dot] com``,
``jane(at)corp(dot)io``, ``john . doe @ example . com``, and, next to an e-mail word, ``john at
example dot com``. Each is an address all the same (EMAIL_ADDRESS, 0.85)."""

from __future__ import annotations

import regex
from presidio_analyzer import RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from policies.pii.context import ContextWords
from policies.pii.recognizer_base import RuleRecognizer

# "@" or "at" in brackets, a spaced "@", or the word "at" between spaces.
_AT = r"(?:\s*[\[({<]\s*(?:at|@)\s*[\])}>]\s*|\s*@\s*|\s+at\s+)"
_DOT = r"(?:\s*[\[({<]\s*(?:dot|\.)\s*[\])}>]\s*|\s*\.\s*|\s+dot\s+)"
_PART = r"[A-Za-z0-9_%+\-]{1,64}"
# Top-level labels an obfuscated address may end in: the common generic and country ones and the
# intranet names hospitals and banks use. A spaced "." before any other word is a sentence's end.
_TLDS = (
    "com net org edu gov mil int info biz io co ai app dev me tv us uk de fr cn jp in au ca nl ch se no "
    "dk fi es it pt ru br mx ar za ng ke hk tw sg nz ie be at pl cz kr id my ph vn th tr il ae sa eg "
    "local internal corp lan intranet example test arpa home"
).split()
_OBFUSCATED_EMAIL_RE = regex.compile(
    rf"(?<![A-Za-z0-9_%+.\-@])(?P<local>{_PART}(?:{_DOT}{_PART}){{0,4}})(?P<at>{_AT})"
    rf"(?P<domain>(?:[A-Za-z0-9\-]{{1,63}}{_DOT}){{1,4}}(?P<tld>{'|'.join(_TLDS)}))(?![A-Za-z0-9\-])",
    regex.IGNORECASE,
)
# What every obfuscated address holds: a bracketed or spaced "@" or "at", or the word "dot". A cheap
# first test: most text has none, and the address pattern is costly to run over prose.
_HINT_RE = regex.compile(
    r"[\[({<]\s*(?:at|@)\s*[\])}>]|\s@|@\s|(?<![A-Za-z])dot(?![A-Za-z])", regex.IGNORECASE
)
# The plain-word form ("john at example dot com") only next to one of these.
_EMAIL_WORDS = ContextWords(
    [
        *("email", "e-mail", "emails", "emailed", "mail", "mailbox", "inbox", "address", "contact"),
        *("reach", "write to", "send to", "邮箱", "邮件", "电邮"),
    ]
)


class ObfuscatedEmailRecognizer(RuleRecognizer):
    """E-mail addresses with "@" and "." written as words, in brackets or spaced out, at 0.85. The
    form with the bare words "at" and "dot" ("john at example dot com") counts only next to an
    e-mail word (email, mail, contact, reach, 邮箱 ...): "meet at noon dot com" is no address.
    Addresses written plainly are EmailAddressRecognizer's."""

    entity_type = "EMAIL_ADDRESS"
    SCORE = 0.85

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if "EMAIL_ADDRESS" not in entities or _HINT_RE.search(text) is None:
            return []
        results: list[RecognizerResult] = []
        for match in _OBFUSCATED_EMAIL_RE.finditer(text):
            value = match.group(0)
            if not any(ch.isspace() or ch in "[](){}<>" for ch in value):
                continue  # written plainly
            tld = match.group("tld")
            if not (tld.islower() or tld.isupper()):
                continue  # "at home. In the morning": a sentence's end, not a domain
            if match.group("at").strip().isalpha() and (
                "." in match.group("domain") or not _EMAIL_WORDS.near(text, match.start(), match.end())
            ):
                continue  # the bare word "at" only with "dot" words, next to an e-mail word
            results.append(RecognizerResult("EMAIL_ADDRESS", match.start(), match.end(), self.SCORE))
        return results
