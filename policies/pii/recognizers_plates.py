"""Vehicle registration plates (VEHICLE_PLATE): a plate identifies the car's keeper, so under GDPR
it is personal data.

Chinese plates have a shape of their own (province character, letter, five or six characters) and
are found with or without a plate word nearby; US plates look like any code (KXR-4821, 7ABC123)
and are found only next to one (license plate, plate no., tag, registration ...).
"""

from __future__ import annotations

import regex
from presidio_analyzer import RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from policies.pii.context import ContextWords
from policies.pii.recognizer_base import RuleRecognizer

_PLATE_CONTEXT = ContextWords(
    [
        *("plate", "plates", "numberplate", "tag", "tags", "registration", "rego", "vehicle"),
        *("car reg", "vehicle reg", "reg no", "reg. no", "reg number"),
        *("车牌", "车号", "号牌", "牌照", "车辆", "挪车", "驾驶", "开车", "停车", "违章", "行驶证"),
    ]
)

# Province (or municipality) abbreviations that start a mainland plate.
_CN_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_LETTER = "A-HJ-NP-Z"  # I and O are not used on plates
# Serial: five characters (at most two letters), or a new-energy six (D/F + letter or digit + four
# digits; five digits + D/F on large vehicles), or four + 学/警/挂/港/澳/领/试/超.
_CN_PLATE_RE = regex.compile(
    "[" + _CN_PROVINCES + "][" + _LETTER + r"][·•・\- ]?"
    "(?P<serial>[DF][" + _LETTER + r"0-9]\d{4}|\d{5}[DF]|[" + _LETTER + r"0-9]{5}"
    "|[" + _LETTER + "0-9]{4}[学警挂港澳领试超])(?![A-Za-z0-9])",
    regex.IGNORECASE,
)
_CN_PROVINCE_RE = regex.compile("[" + _CN_PROVINCES + "]")


class CnPlateRecognizer(RuleRecognizer):
    """Mainland Chinese plates: 沪A7K3M2, 京A·12345, 粤B D12345 (new energy), 0.6 on shape alone
    and 0.9 next to a plate word (车牌, 车号, plate ...)."""

    entity_type = "VEHICLE_PLATE"
    ALONE = 0.6
    WITH_CONTEXT = 0.9

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if "VEHICLE_PLATE" not in entities or not _CN_PROVINCE_RE.search(text):
            return []
        results: list[RecognizerResult] = []
        for match in _CN_PLATE_RE.finditer(text):
            serial = match.group("serial")
            if len(serial) == 5 and sum(ch.isalpha() for ch in serial) > 2:
                continue
            near = _PLATE_CONTEXT.near(text, match.start(), match.end(), before=20, after=10)
            score = self.WITH_CONTEXT if near else self.ALONE
            results.append(RecognizerResult("VEHICLE_PLATE", match.start(), match.end(), score))
        return results


# One or two groups of letters and digits: KXR-4821, KXR 4821, 7ABC123, 123-ABC, AB12 CDE.
_PLATE_END = r"(?![A-Za-z0-9]|[.\-/][A-Za-z0-9])"
_US_PLATE_RES = (
    # Up to four groups: B-MW 1234 (Germany), AB-123-CD (France), 12-ABC-3 (Netherlands),
    # MH 12 AB 1234 (India).
    # Tried longest first; a shape whose last group is a word ("AB-123-CD is") fails and the next,
    # one group shorter, is tried.
    regex.compile(r"[A-Z0-9]{1,4}(?:[ \-·•][A-Z0-9]{1,4}){3}" + _PLATE_END, regex.IGNORECASE),
    regex.compile(r"[A-Z0-9]{1,4}(?:[ \-·•][A-Z0-9]{1,4}){2}" + _PLATE_END, regex.IGNORECASE),
    regex.compile(r"[A-Z0-9]{1,4}[ \-·•][A-Z0-9]{1,5}" + _PLATE_END, regex.IGNORECASE),
    regex.compile(r"[A-Z0-9]{4,8}" + _PLATE_END, regex.IGNORECASE),
)
# A date written as a plate's groups is a date: "registration 2024-01-05".
_DATE_RE = regex.compile(
    r"(?:19|20)\d\d[ \-·•]\d{1,2}[ \-·•]\d{1,2}|\d{1,2}[ \-·•]\d{1,2}[ \-·•](?:19|20)\d\d"
)
_PLATE_GROUP_RE = regex.compile(r"[A-Za-z0-9]+")
# A dose or measurement is no plate: "reg insulin 10units", "tag 500mg".
_MEASURE_RE = regex.compile(
    r"\d+(?:mg|mcg|ug|g|kg|ml|l|iu|u|units?|mmol|meq|mmhg|bpm|cm|mm|hrs?|h|mins?|d|wk|wks|x|am|pm|st|nd|rd|th)",
    regex.IGNORECASE,
)


# What may stand between a plate word and the plate: "plate no. ", "tag number: ", "plate is ".
_PLATE_FILLER_RE = regex.compile(
    r"[\s:#.,(\-]*(?:(?:no|nr|num|number|is|was|as|reads|of|#)(?![A-Za-z])[\s:#.,(\-]*){0,3}",
    regex.IGNORECASE,
)
_US_PLATE_WORDS = ContextWords(
    [
        *("plate", "plates", "numberplate", "tag", "tags", "registration", "registered", "rego"),
        *("car reg", "vehicle reg", "reg", "reg.", "车牌", "车号", "号牌", "牌照"),
        # Other languages' plate words, and "vehicle number" as Indian forms write it.
        *("kennzeichen", "nummernschild", "immatriculation", "plaque", "kenteken", "targa"),
        *("matrícula", "matricula", "placa", "vehicle number", "vehicle no", "vehicle no."),
    ]
)


class UsPlateRecognizer(RuleRecognizer):
    """Plates right after a plate word (license plate, plate no., tag number, car reg, Kennzeichen,
    immatriculation, kenteken, targa, matrícula, vehicle number ...), 0.7: four to ten letters and
    digits with at least one digit (all digits: five or more), in at most four groups.
    Only filler (no., number, #, is) may stand between word and plate, so
    "plate count normal; HbA1c 7.2%" has no plate. Without a plate word nothing is reported: the
    shape is any code's."""

    entity_type = "VEHICLE_PLATE"
    SCORE = 0.7

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if "VEHICLE_PLATE" not in entities or not _US_PLATE_WORDS.anywhere(text):
            return []
        results: list[RecognizerResult] = []
        for word_end in _US_PLATE_WORDS.ends(text):
            start = _PLATE_FILLER_RE.match(text, word_end).end()
            for shape in _US_PLATE_RES:
                match = shape.match(text, start)
                if match is not None and _looks_like_plate(match.group(0)):
                    results.append(RecognizerResult("VEHICLE_PLATE", match.start(), match.end(), self.SCORE))
                    break
        return results


def _looks_like_plate(value: str) -> bool:
    """Four to ten letters and digits, at least one digit (five when there is no letter), no
    lower-case word as a group ("XYZ1 at"; a lower-case plate is one when its groups are joined
    by hyphens: "kxr-4821"), no date and no dose ("10units")."""
    chars = [ch for ch in value if ch.isalnum()]
    digits = sum(ch.isdigit() for ch in chars)
    if not 4 <= len(chars) <= 10 or digits == 0 or (digits == len(chars) and digits < 5):
        return False
    groups = _PLATE_GROUP_RE.findall(value)
    hyphenated = len(groups) > 1 and value.count("-") == len(groups) - 1
    if not hyphenated and any(group.isalpha() and not group.isupper() for group in groups):
        return False
    return not _MEASURE_RE.fullmatch(value) and not _DATE_RE.fullmatch(value)


def plate_recognizers() -> list[RuleRecognizer]:
    """The VEHICLE_PLATE recognizers."""
    return [CnPlateRecognizer(), UsPlateRecognizer()]
