"""Geographic coordinates (LOCATION): a position to a few metres says where someone lives or was,
so under GDPR it is personal data like the street address it stands for.

Found by shape where the shape says "coordinate": a degree sign or a hemisphere letter
(``37.7749° N``, ``122.4194°W``, ``N 51.5007``, ``37°46'29.6"N``), each number on its own, so a
stream that releases the latitude before the longitude arrives has it redacted already. A bare
pair of decimals (``37.7749, -122.4194``) counts only next to a coordinate word (GPS, lat/long,
coordinates, location, 坐标, 经纬度 ...), with four decimals or more and within range. Clinical
values keep their units: ``37.8°C`` and ``98.6 °F`` are temperatures, not latitudes.
"""

from __future__ import annotations

import regex
from presidio_analyzer import RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from policies.pii.context import ContextWords
from policies.pii.recognizer_base import RuleRecognizer

_DEGREE = "[°º˚]"
# Decimal degrees with a hemisphere letter after (37.7749° N, 37.7749N) or before (N 37.7749),
# or with a degree sign and three decimals or more (-122.4194°); degrees, minutes and seconds
# (37°46'29.6"N, 37° 46′ N).
_COORDINATE_RE = regex.compile(
    rf"(?<![\w.])(?:"
    rf"[-+−]?\d{{1,3}}\.\d{{2,}}\s?{_DEGREE}?\s?[NSEW](?![A-Za-z])"
    rf"|(?<![A-Za-z])[NSEW]\s?[-+−]?\d{{1,3}}\.\d{{2,}}{_DEGREE}?(?!\d|\.\d)"
    rf"|[-+−]?\d{{1,3}}\.\d{{3,}}\s?{_DEGREE}(?!\s?[CFK](?![A-Za-z]))"
    rf"|\d{{1,3}}\s?{_DEGREE}\s?\d{{1,2}}\s?['′’](?:\s?\d{{1,2}}(?:\.\d+)?\s?(?:[\"″”]|''))?\s?[NSEW]?(?![A-Za-z])"
    rf")"
)
_PAIR_RE = regex.compile(r"(?<![\w.])[-+−]?(\d{1,2})\.\d{4,}\s?[,/ ]\s?[-+−]?(\d{1,3})\.\d{4,}(?!\d|\.\d)")
# A decimal right after a latitude or longitude label: "lat 35.6895 long 139.6917", "纬度:31.2304".
_LABELLED_RE = regex.compile(
    r"(?:(?<![A-Za-z])(?:lat|latitude|lon|long|lng|longitude)|纬度|经度)\s?[:=]?\s?"
    r"(?P<value>[-+−]?\d{1,3}\.\d{3,})(?!\d|\.\d)",
    regex.IGNORECASE,
)
# Every coordinate holds a decimal with two decimals or more, or degrees with a degree sign.
_HINT_RE = regex.compile(rf"\d\.\d\d|\d\s?{_DEGREE}")
_COORDINATE_WORDS = ContextWords(
    [
        *("gps", "coordinates", "coordinate", "coords", "lat", "lat/long", "lat/lng", "latitude"),
        *("longitude", "long", "lng", "lon", "geolocation", "geo", "location", "located", "position"),
        *("pin", "map", "坐标", "经纬度", "定位", "位置", "纬度", "经度"),
    ]
)


class CoordinateRecognizer(RuleRecognizer):
    """Latitudes and longitudes: with a degree sign or a hemisphere letter at 0.85, each on its own;
    a decimal with three decimals or more right after "lat", "long", "latitude", 纬度 ...; a bare
    pair of decimals (four decimals or more, latitude within 90 and longitude within 180)
    at 0.85 next to a coordinate word."""

    entity_type = "LOCATION"
    SCORE = 0.85

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if "LOCATION" not in entities or _HINT_RE.search(text) is None:
            return []
        results: list[RecognizerResult] = []
        for match in _COORDINATE_RE.finditer(text):
            results.append(RecognizerResult("LOCATION", match.start(), match.end(), self.SCORE))
        for match in _LABELLED_RE.finditer(text):
            results.append(RecognizerResult("LOCATION", match.start("value"), match.end("value"), self.SCORE))
        if _COORDINATE_WORDS.anywhere(text):
            for match in _PAIR_RE.finditer(text):
                if int(match.group(1)) > 90 or int(match.group(2)) > 180:
                    continue
                if _COORDINATE_WORDS.near(text, match.start(), match.end()):
                    results.append(RecognizerResult("LOCATION", match.start(), match.end(), self.SCORE))
        return results
