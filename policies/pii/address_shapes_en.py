"""More shapes of street lines: rural routes and highway contracts, addresses on numbered roads,
lower-case or non-Latin lines with a unit, German street names that open with a preposition, a
street named after a locative preposition, and what confirms a name and a number as a street. Every
pattern has bounded repetitions and no nested quantifier that can backtrack (see
:mod:`policies.pii.recognizers_address_en`)."""

from __future__ import annotations

import regex

_EDGE = r"(?<![\p{L}\p{N}])"
_END = r"(?![\p{L}\p{N}])"
_DIRECTION = r"(?:[NSEW]|NE|NW|SE|SW|North|South|East|West)"
# Letters of a name; U+2206 (increment) stands for a Greek capital delta in text typed with some
# keyboards and fonts (ΑΓΙΟΣ ∆ΟΜΕΤΙΟΣ).
NAME_CHARS = r"\p{L}\p{M}'’\-∆"

# RR 2 Box 152, R.R. 4, Box 7, Rural Route 3 Box 45, HC 61 Box 12 (highway contract), Star Route 2
# Box 9; "Rural Route 3" alone too. RR and HC need their box: RR 18 is a respiratory rate.
_ROUTE = r"(?:Route|ROUTE|Rte\.?|RTE)"
_RURAL = (
    r"(?:R\.?[ \t]?R\.?|RFD|H\.?[ \t]?C\.?|(?:Rural|RURAL|Star|STAR)[ \t]+"
    + _ROUTE
    + r"|(?:Highway|HIGHWAY)[ \t]+(?:Contract|CONTRACT))"
)
RURAL_RE = regex.compile(
    _EDGE + r"(?:" + _RURAL + r"[ \t]*\d{1,3}[ \t]*,?[ \t]*(?:Box|BOX|box)[ \t]*#?[ \t]*\d{1,5}"
    r"|(?:Rural|RURAL)[ \t]+" + _ROUTE + r"[ \t]+\d{1,3})" + _END
)

# A house number and a numbered road: 12345 State Highway 40, 4200 US Hwy 101 N, 880 County Road
# 12, W1234 County Rd K, 310 State Route 9, 7700 FM 1960, 45564 Interstate 19, 22 Route 9W.
_QUALIFIER = (
    r"(?:State|STATE|US|U\.S\.|County|COUNTY|Co\.|Old|OLD|Provincial|National|Farm[ \t]+to[ \t]+Market)"
)
_LOCAL_ROAD = r"(?:County|COUNTY|State|STATE)[ \t]+(?:Road|ROAD|Rd\.?|RD|Highway|Hwy\.?)"
HIGHWAY_RE = regex.compile(
    _EDGE + r"(?:[NSEW]\d{1,6}|\d{1,6}[A-Za-z]?)[ \t]+"
    r"(?:(?:" + _QUALIFIER + r"[ \t]+)?(?:Highway|HIGHWAY|Hwy\.?|HWY|" + _ROUTE + r")[ \t]+\d{1,4}[A-Z]?"
    r"|" + _LOCAL_ROAD + r"[ \t]+(?:\d{1,4}[A-Z]?|[A-Z]{1,2})"
    r"|(?:Interstate|INTERSTATE)[ \t]+\d{1,3}|(?:FM|RM|US-)[ \t]?\d{1,4})"
    r"(?:[ \t]+" + _DIRECTION + r"\.?)?" + _END
)

# House number, a name in any case and script, a second number and a unit: 0605 πεντέλης 210 apt. 999,
# 5670 r josé a madeira 1 suite 696. The unit makes it an address whatever the case of the name.
_WORD = r"\p{L}[" + NAME_CHARS + r"]{0,30}"
LOWER_UNIT_STREET_RE = regex.compile(
    _EDGE + r"\d{1,6}[ \t]+(?P<name>" + _WORD + r"(?:[ \t]+" + _WORD + r"){0,4})[ \t]+\d{1,5}[A-Za-z]?"
    r"[ \t]+(?i:apt|apartment|suite|ste|flat)\.?[ \t]*#?[ \t]*\d{1,5}" + _END
)

# A name and a number followed by a street type (Hoge Wei 32 St., Via Tasso 129 street): the type
# says what the name is.
TYPE_AFTER_RE = regex.compile(r"[ \t]+(?:St|ST|Street|STREET|street|Str|str|Ave|Avenue|Rd|Road)\.?" + _END)

# German names that open with a preposition: Am Anger 5, Im Winkel 3, An der Kirche 2, Auf dem Berg 1.
DE_PREPOSITIONS = frozenset("am im zum zur beim".split())
_DE_PAIRS = "an der|an den|an dem|auf der|auf dem|auf den|in der|in den|unter den|hinter dem|vor dem"
DE_PREPOSITION_PAIRS = frozenset(_DE_PAIRS.split("|"))

# A street named without a house number after a locative preposition (the shows on Berg Hills
# Street; a house off Quarry Road): not before a capitalized word or a business noun (the King
# Street branch, on Main Street Pharmacy's list).
_CAP = r"\p{Lu}[\p{L}\p{M}'’\-]{0,30}"
_BUSINESS = (
    r"branch|branches|clinic|clinics|pharmacy|office|offices|surgery|store|stores|shop|shops|hospital|"
    r"station|campus|location|site|practice|bank|centre|center|mall|market|restaurant|cafe|hotel|"
    r"school|church|lab|laboratory|bridge|entrance|exit|stop|project|address|addresses"
)
BARE_ON_RE = regex.compile(
    r"(?<![\p{L}])(?:on|along|off|onto)[ \t]+(?P<street>(?P<name>" + _CAP + r"(?:[ \t]+" + _CAP + r"){0,3})"
    r"[ \t]+(?:Street|Avenue|Road|Boulevard|Lane|Drive|Parkway|Terrace|Crescent))"
    + _END
    + r"(?![ \t]*(?:\p{Lu}|\p{N}|(?i:"
    + _BUSINESS
    + r")(?![\p{L}])))"
)

# Streets that stand for an institution or a trade, not for where someone lives ("yields rose on
# Wall Street", "a clinic on Harley Street"): not taken as a bare street name.
METONYM_STREETS = frozenset(
    {
        "Wall Street",
        "Fleet Street",
        "Downing Street",
        "Threadneedle Street",
        "Lombard Street",
        "Bay Street",
        "Harley Street",
        "Madison Avenue",
        "Easy Street",
        "Sesame Street",
    }
)

# A region code in lower case before a ZIP code (eugene, or 97401; delmas, mp 35739).
LOWER_REGION_RE = regex.compile(r"\p{Ll}{2}[ \t]+\d{5}(?:-?\d{4})?" + _END)
# A comma and a region code with a postal code: "Mobile, AL 36602" is the city Mobile, not a phone label.
REGION_AFTER_RE = regex.compile(r"[ \t]*,[ \t]*(?P<code>\p{L}{2,3})[ \t]+\d{4,10}" + _END)
# A city that ends the line or the text after a comma: 641 Dašická 688, Turkovice u Prelouce.
CITY_END_RE = regex.compile(
    r",[ \t]*\p{Lu}[" + NAME_CHARS + r"]{1,30}(?:[ \t]+\p{L}[" + NAME_CHARS + r"]{0,30}){0,3}"
    r"[ \t]*[.!?;]?[ \t]*(?:\r?\n|\Z)"
)

# Cheap checks before the patterns above: the word each needs somewhere in the text.
RURAL_HINT_RE = regex.compile(r"(?i:box|route|rte)")
HIGHWAY_HINT_RE = regex.compile(r"(?i:highway|hwy|route|rte|road|rd|interstate)|FM|RM|US-")
LOWER_UNIT_HINT_RE = regex.compile(r"(?i:apt|apartment|suite|ste|flat)")
BARE_ON_HINT_RE = regex.compile(r"Street|Avenue|Road|Boulevard|Lane|Drive|Parkway|Terrace|Crescent")
