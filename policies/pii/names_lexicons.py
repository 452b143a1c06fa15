"""The name lexicons (read once per process from ``policies/pii/data``) and the token classes a
word falls in: listed first name or surname, common word, unlisted name-like word, digits for letters."""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

import regex

from policies.pii.names_context import CUE_WORDS


@dataclass(frozen=True, slots=True)
class NameLexicons:
    """Lower-case ASCII lookups: first names and surnames, each split into names that are not
    common English words and names that are; English words that are no names; clinical terms;
    the dictionary's proper nouns that no name list holds (places, brands, people: "Soyinka"),
    which count as names that are also words."""

    first: frozenset[str]
    first_common: frozenset[str]
    last: frozenset[str]
    last_common: frozenset[str]
    words: frozenset[str]
    clinical: frozenset[str]
    proper: frozenset[str] = frozenset()

    def without(self, names: Iterable[str]) -> NameLexicons:
        """The same lexicons less ``names`` (to measure the rules on names they do not list)."""
        drop = frozenset(names)
        return NameLexicons(
            self.first - drop,
            self.first_common - drop,
            self.last - drop,
            self.last_common - drop,
            self.words,
            self.clinical,
            self.proper - drop,
        )


_DATA = "data"


def _read(name: str) -> frozenset[str]:
    text = resources.files("policies.pii").joinpath(_DATA, name).read_text("utf-8")
    return frozenset(line for line in text.split("\n") if line and not line.startswith("#"))


@functools.cache
def shipped_lexicons() -> NameLexicons:
    """The lexicons shipped in ``policies/pii/data``, read once per process."""
    return NameLexicons(
        first=_read("first_names.txt"),
        first_common=_read("first_names_common_words.txt"),
        last=_read("surnames.txt"),
        last_common=_read("surnames_common_words.txt"),
        words=_read("english_words.txt"),
        clinical=_read("clinical_terms.txt"),
        proper=_read("proper_nouns.txt"),
    )


def plain_words(stop_words: Iterable[str]) -> frozenset[str]:
    """Lower-case common words: English words, clinical terms, ``stop_words`` and the names that
    are also common words ("will", "brown", "call"), less the names that are not."""
    lexicons = shipped_lexicons()
    common = lexicons.words | lexicons.clinical | lexicons.first_common | lexicons.last_common
    return frozenset((common | frozenset(stop_words)) - lexicons.first - lexicons.last)


FIRST = 1  # a first name that is not a common word
FIRST_COMMON = 2  # a first name that is a common word ("will", "grace")
LAST = 4
LAST_COMMON = 8
WORD = 16  # an English word, a clinical or banking term, a cue word: not a name part
UNKNOWN = 32  # none of the above and shaped like a name: a name the lexicons do not list
OBFUSCATED = 64  # digits for letters that spell a listed name ("G0nzalez")
NAME = FIRST | FIRST_COMMON | LAST | LAST_COMMON
STRONG = FIRST | LAST
_NOT_REMEMBERED = FIRST | LAST | UNKNOWN | OBFUSCATED  # common words that are names too are kept

# Digits used for letters; "1" is tried as both "i" and "l".
LEET = {"0": "o", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g"}
_VOWELS = frozenset("aeiouy")
# Inflections stripped before looking a word up, with the shortest stem each leaves (the shipped
# word list keeps stems only; bench/build_name_lexicons.py drops the same inflections). No "-er":
# too many surnames are a word plus "er" ("Boger", "Hunker").
_SUFFIXES = (("s", 2), ("es", 3), ("ed", 4), ("d", 4), ("ing", 3), ("ly", 4))
# Unknown words with these endings are drugs, procedures or conditions, not names.
_CLINICAL_ENDING_RE = regex.compile(
    r"(?:pril|olol|statin|formin|sartan|mab|nib|azole|cillin|mycin|oxacin|dipine|parin|lukast|prazole|"
    r"gliptin|glutide|semide|thiazide|profen|codone|zepam|zolam|triptan|dronate|vir|amine|oxetine|azepine|"
    r"tidine|afil|xaban|gatran|grel|flozin|tinib|triptyline|pramine|barbital|caine|tropin|relin|olone|"
    r"asone|onide|cycline|penem|itis|ectomy|otomy|ostomy|plasty|scopy|graphy|emia|aemia|uria|osis|ology|"
    r"ologist|algia|pathy|plasia|trophy|penia|cytosis)$"
)
_CACHE_LIMIT = 50_000
# Accented letters no English word has, even a loanword (café, naïve, señor, façade, über keep theirs).
_FOREIGN_MARK_RE = regex.compile(r"[áíóúýčďěňřšťůžćłńśźżąęőűășțşğıøåãõÁÍÓÚÝČĎĚŇŘŠŤŮŽĆŁŃŚŹŻĄĘŐŰĂȘȚŞĞØÅÃÕ]")


class Classifier:
    """Token class lookups over one set of lexicons, cached per word."""

    def __init__(self, lexicons: NameLexicons) -> None:
        self._lex = lexicons
        self.clinical = lexicons.clinical
        self._cache: dict[str, int] = {}

    def classify(self, word: str) -> int:
        cached = self._cache.get(word)
        if cached is None:
            cached = self._classify(word)
            # Only common words are remembered ("the", "will"): no other name, listed or not, no digits.
            if not cached & _NOT_REMEMBERED and word.isalpha() and word.lower() not in self._lex.proper:
                if len(self._cache) >= _CACHE_LIMIT:
                    self._cache.clear()
                self._cache[word] = cached
        return cached

    def is_proper(self, word: str) -> bool:
        """Whether ``word`` is one of the dictionary's proper nouns that no name list holds."""
        return lexicon_key(word) in self._lex.proper

    def _classify(self, word: str) -> int:
        key = lexicon_key(word)
        if not key:
            return WORD
        if key.isalpha():
            found = self._classify_key(key)
            if (
                found == WORD
                and _FOREIGN_MARK_RE.search(word)
                and key not in self.clinical
                and key not in CUE_WORDS
            ):
                return UNKNOWN  # "Navrátilová": English loanwords carry no such accent (café, naïve)
            return found
        if key in self._lex.clinical:
            return WORD  # "hba1c", "ft4"
        if not any(ch.isalpha() for ch in key) or sum(ch.isalpha() for ch in key) < 2:
            return WORD
        if any(ch.isdigit() and ch not in LEET and ch != "1" for ch in key):
            return WORD
        variants = deleet(key)
        unknown = True
        for variant in variants:
            found = self._classify_key(variant)
            if found & NAME:
                return (found & NAME) | OBFUSCATED
            unknown = unknown and found == UNKNOWN
        # Digits in a word that spells no listed name: an unlisted name ("Oy1nlol4") when it has
        # three letters or more and every reading is name-like ("3rd", "10am", "hba1c" are not).
        letters = sum(ch.isalpha() for ch in key)
        return UNKNOWN if unknown and letters >= 3 and len(key) >= 4 else WORD

    def _classify_key(self, key: str) -> int:
        lex = self._lex
        if key in CUE_WORDS:
            return WORD  # "Patient", "Nurse", "Dean"... are surnames too, but here they announce one
        flags = 0
        if key in lex.first:
            flags |= FIRST
        elif key in lex.first_common:
            flags |= FIRST_COMMON
        if key in lex.last:
            flags |= LAST
        elif key in lex.last_common:
            flags |= LAST_COMMON
        if not flags and key in lex.proper:
            # "Margrethe Nielsen", "Oluwakemi Soyinka", "Dr. Ramanujan": a name beside another name
            # part or a cue; alone ("the Tokyo branch") a word.
            flags = FIRST_COMMON | LAST_COMMON
        if flags:
            return flags
        if key in lex.clinical or self._is_word(key):
            return WORD
        if (len(key) >= 3 and _VOWELS.intersection(key)) or key == "ng":
            return WORD if _CLINICAL_ENDING_RE.search(key) else UNKNOWN
        return WORD

    def _is_word(self, key: str, depth: int = 2) -> bool:
        """An English word, or one with up to two inflections stripped ("discussed" -> "discuss"
        -> "discus": the shipped list keeps stems only)."""
        lex = self._lex
        if key in lex.words or key in lex.first_common or key in lex.last_common:
            return True
        if depth == 0:
            return False
        for suffix, shortest in _SUFFIXES:
            if key.endswith(suffix) and len(key) - len(suffix) >= shortest:
                stem = key[: -len(suffix)]
                if suffix == "d" and not stem.endswith("e"):
                    continue  # "-d" follows an "e" ("agreed", "hoped"): "bowlds" is no "bowl"
                if self._is_word(stem, depth - 1):
                    return True
        return False


_LATIN_LETTERS = str.maketrans(
    {
        "ı": "i",
        "ł": "l",
        "Ł": "l",
        "ø": "o",
        "Ø": "o",
        "đ": "d",
        "Đ": "d",
        "ð": "d",
        "ħ": "h",
        "ß": "ss",
        "æ": "ae",
        "Æ": "ae",
        "œ": "oe",
        "Œ": "oe",
        "þ": "th",
    }
)


def lexicon_key(word: str) -> str:
    """Lower case, accents and apostrophes removed: the lexicons' spelling ("O'Brien" -> "obrien",
    "Yıldız" -> "yildiz")."""
    if not word.isascii():
        decomposed = unicodedata.normalize("NFKD", word.translate(_LATIN_LETTERS))
        word = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
        if not word.isascii():
            return ""
    return word.lower().replace("'", "").replace("`", "")


def deleet(key: str) -> list[str]:
    """Spellings of ``key`` with its digits read as letters; "1" as "i" and as "l"."""
    variants = [""]
    for ch in key:
        if ch == "1":
            variants = [v + letter for v in variants for letter in "il"][:8]
        else:
            variants = [v + LEET.get(ch, ch) for v in variants]
    return variants
