"""The words and patterns of Latin-script street addresses: street types before, after and glued
to a name, units, PO boxes, military addresses, corners, postal codes, region codes and countries.
Every pattern has bounded repetitions (see :mod:`policies.pii.recognizers_address_en`)."""

from __future__ import annotations

import regex

from policies.pii.address_usps import (
    AU_NZ_ROAD_TYPES,
    USPS_NAMES,
    USPS_SURE_ABBREVIATIONS,
    USPS_WEAK_ABBREVIATIONS,
)
from policies.pii.context import ContextWords
from policies.pii.word_trie import alternation

ADDRESS_CONTEXT = ContextWords(
    [
        *("address", "addresses", "addr", "lives at", "lives on", "lives in", "living at", "live at"),
        *("resides at", "residing at", "residence", "resident of", "moved to", "moving to"),
        *("ship to", "shipping to", "send to", "sent to", "mail to", "deliver to", "delivered to"),
        *("delivery to", "located at", "domicile", "corner of", "intersection of", "home at"),
        *("return to", "returned to", "forward to", "forwarded to", "post to", "posted to"),
        *("adresse", "anschrift", "wohnhaft", "dirección", "direccion", "domicilio", "endereço"),
        *("morada", "indirizzo", "adres", "woonadres", "osoite", "adress", "住址", "地址"),
    ]
)

# Words of a name (any script with letters: Þórunnarstræti, Λεωφόρος Συγγρού).
_CAP = r"\p{Lu}[\p{L}\p{M}'’\-]{0,30}"
_ANY_WORD = r"\p{L}[\p{L}\p{M}'’\-]{0,30}"
# Up to 10 digits: the normalizer joins digit groups (3378 217 Lovers Lane reads 3378217 Lovers Lane).
# A letter (12B, 48-B), a range or a unit before a slash (100-102, 4/27), a fraction (221 1/2, 594½,
# which NFKC writes 5941⁄2).
_NUM = (
    r"(?:\d{1,10}(?:-?[A-Za-z]|[ \t]?(?i:bis|ter))?(?:[-/]\d{1,5}[A-Za-z]?)?"
    r"(?:[ \t]?1[/⁄][2-4]|[½¼¾])?"
    r"|[Ss]/[Nn])"  # sin número, sem número: a house without a number (Avenida de Freitas, S/N)
)
_EDGE = r"(?<![\p{L}\p{N}])"
_END = r"(?![\p{L}\p{N}])"

# Particles that may stand between the capitalized words of a street or place name.
PARTICLES = frozenset(
    "de del della dei degli di da das do dos du des la le les el los las van von der den ter ten "
    "am an im auf zum zur of the y e i nad pod na sur sous lès en op aan".split()
)

# English street types a house number and a name make an address with, on their own...
EN_TYPES = (
    "street st str avenue ave av road rd boulevard blvd lane ln drive dr court ct place pl way "
    "terrace terr ter tce highway hwy parkway pkwy circle cir square sq crescent cres close grove "
    "gardens alley trail trl row mews plaza parade pde esplanade expressway freeway motorway "
    "turnpike"
).split()
EN_TYPES += sorted(USPS_SURE_ABBREVIATIONS - set(EN_TYPES))
# ... and the rest of USPS Publication 28's street suffixes, everyday nouns too (Ward 7 Nurse
# Station, the Main Branch): these need more evidence.
EN_WEAK_TYPES = (
    "alley anex arcade bayou beach bend bluff bluffs bottom branch bridge brook brooks burg burgs "
    "bypass camp canyon cape causeway center centre centers circles cliff cliffs club common commons "
    "corner corners course courts cove coves creek crest crossing crossroad curve dale dam divide "
    "drives estate estates extension extensions fall falls ferry field fields flat flats ford fords "
    "forest forge forges fork forks fort garden gateway glen glens green greens groves harbor harbors "
    "harbour haven heights hill hills hollow inlet island islands isle junction junctions key keys "
    "knoll knolls lake lakes land landing light lights loaf lock locks lodge loop mall manor manors "
    "meadow meadows mill mills mission mount mountain mountains neck orchard oval overpass park parks "
    "parkways pass passage path pike pine pines plain plains point points port ports prairie radial "
    "ramp ranch rapid rapids rest ridge ridges river roads route rue run shoal shoals shore shores "
    "skyway spring springs spur spurs squares station stravenue stream streets summit throughway "
    "trace track trafficway tunnel underpass union unions valley valleys viaduct view views village "
    "villages ville vista walk walks wall ways well wells"
).split()
EN_WEAK_TYPES += sorted((USPS_NAMES | USPS_WEAK_ABBREVIATIONS) - set(EN_TYPES) - set(EN_WEAK_TYPES))
EN_WEAK_TYPES += sorted(AU_NZ_ROAD_TYPES - set(EN_TYPES) - set(EN_WEAK_TYPES))
# Indian street and locality words written after a name as a street type is (Kota Chowk, MG Marg,
# Gandhi Nagar, Lajpat Colony): weak, an address only with a tail or an address word.
EN_WEAK_TYPES += sorted(
    {"nagar", "marg", "chowk", "ganj", "gali", "colony", "layout", "enclave", "vihar"} - set(EN_WEAK_TYPES)
)
ABBREVIATED_TITLES = frozenset({"dr", "st"})  # Dr. Smith, St. Mary's: no type before a name
# A capital after Dr or St is a name (Dr. Patel) unless it is a unit or a directional that ends the
# street line (9397 Harrow Dr S, Lansing; 1554 Larkspur St W).
TITLE_AFTER_RE = regex.compile(
    r"\.?[ \t]+(?!(?i:apt|suite|ste|unit|flat)(?![\p{L}]))"
    r"(?!(?:[NSEW]|NE|NW|SE|SW)\.?(?![\p{L}])(?![ \t]+\p{Lu}))\p{Lu}"
)
_EN_TYPE_RE = alternation({*EN_TYPES, *EN_WEAK_TYPES})
_EN_TITLE_TYPE_RE = alternation({t.title() for t in (*EN_TYPES, *EN_WEAK_TYPES)})

# House number, one to four words, street type: 3968 Bay Street, 3911 fourth avenue, 350 5th Ave.
EN_STREET_RE = regex.compile(
    _EDGE
    + r"(?P<num>"
    + _NUM
    + r")(?P<comma>,)?[ \t]+(?P<name>(?:(?:"
    + _ANY_WORD
    + r"|\d{1,3}(?:st|nd|rd|th))"
    r"[ \t]+){1,6})(?P<type>(?i:" + _EN_TYPE_RE + r"))(?P<dot>\.)?" + _END
)
# A name and a street type without a house number (lives on Baker Street): with an address word only.
EN_BARE_STREET_RE = regex.compile(
    _EDGE
    + r"(?P<name>"
    + _CAP
    + r"(?:[ \t]+"
    + _CAP
    + r"){0,3})[ \t]+(?P<type>"
    + _EN_TITLE_TYPE_RE
    + r")"
    + _END
)

# Street types written before the name; the first group is rarely anything else.
PREFIX_TYPES_SURE = (
    "rue calle carrer avenida avda rua travessa praça praca largo viale piazza piazzale vicolo "
    "corso strada ulica ul aleja al paseo camino carretera chemin allée allee impasse quai "
    "bulevardul calea λεωφόρος οδός c/ "
    # Polish squares and estates, Romanian street words, Indonesian jalan and gang (Jl., Gg.)
    "plac osiedle intrarea soseaua șoseaua drumul splaiul aleea jalan jl jln gg"
).split()
PREFIX_TYPES_UNSURE = "avenue av boulevard bd via place plaza route cours".split()
# Street types of Spain, Mexico, Italy and Brazil that are also everyday words ("Cerrada", "Diagonal",
# "Borgo", "Parque"): type first, then an address only with a tail or an address word.
PREFIX_TYPES_UNSURE += (
    "privada andador callejón callejon continuación continuacion circunvalación circunvalacion circuito "
    "diagonal calzada ampliación ampliacion cerrada corredor periférico periferico peatonal retorno "
    "prolongación prolongacion pasaje ronda vial pasadizo glorieta rambla travesía travesia cuesta "
    "bajada acceso alameda borgo contrada incrocio rotonda stretto ladeira estrada rodovia viela vila "
    "conjunto residencial setor quadra parque fazenda chácara chacara "
    # Portugal's "R." (rua), Poland's "pl." and "os.", Indonesia's "gang", Romania's "piața", and the
    # prepositions Czech, Slovak and Polish street names start with (Pod Výšinkou, Na varte, Za Humny)
    "r pl os gang piața piata pod nad na za pri při pred před ke"
).split()
_PREFIX_TYPE_RE = alternation({*PREFIX_TYPES_SURE, *PREFIX_TYPES_UNSURE})
# The house number before a type-first street, with the comma of French usage or without (12 rue de
# la Paix, 11, rue Guillon).
NUMBER_BEFORE_RE = regex.compile(_EDGE + r"(?P<num>" + _NUM + r")(?P<comma>,)?[ \t]+\Z")
PREFIX_STREET_RE = regex.compile(
    # The house number before the type (12 rue de la Paix) is looked for behind a match: an optional
    # group ahead of the type would be tried at every position of the text.
    r"\b(?P<type>(?i:" + _PREFIX_TYPE_RE + r"))(?=[. \t/])\.?[ \t]*(?<=[ \t/])"
    r"(?:(?P<name>" + _ANY_WORD + r"(?:[ \t]+" + _ANY_WORD + r"){0,5}?)[ \t]*,?[ \t]*"
    # The house number's own label: Jl. Wonoayu No. 984, Intrarea Marin Nr. 688, Rua X, nº 12
    r"(?:(?i:no|nr|n[º°o])\.?[ \t]*)?(?P<hn>" + _NUM + r")\.?"
    r"|(?P<name>" + _ANY_WORD + r"(?:[ \t]+" + _ANY_WORD + r"){0,3}))" + _END
)

# Street types glued to the end of the name (German, Nordic, Dutch, Baltic ...) ...
GLUED_SUFFIXES_SURE = tuple(
    (
        "straße strasse strassa straat stræde straeti stræti gasse gässli platz allee damm ufer steig "
        "vej vejen gade gaden vænget plads vägen gatan gata gränd torget katu kuja polku kaari tori "
        "rinne veien vegen vegur braut laan gracht plein kade singel tänav iela gatvė utca"
    ).split()
)
GLUED_SUFFIXES_UNSURE = tuple("weg tie vei veg gate stien sti hof hove pad dijk".split())
# ... or written as a word of their own after it (Hungarian u., tér; Stensås terrasse; 136 Filadelfeos Str.).
AFTER_TYPES = frozenset(
    "u utca út útja tér tere krt körút rkp köz sor fasor sétány kapu terrasse vei vej gade gate "
    "gata straße strasse str straat laan weg platz ulica ul "
    # Finnish, Croatian, Slovenian, Serbian, Czech, Slovak and Turkish words of their own
    "kuja polku tie katu väylä kaari raitti rinne aukio tori put pot cesta ulice trg obala prilaz "
    "odvojak vijenac ogranak náměstí nábřeží třída námestie nábrežie trieda sokak sokağı cadde caddesi "
    "bulvar bulvarı".split()
)
MEASURES = frozenset(
    "tablet tablets tab tabs capsule capsules caps unit units mg mcg ml g kg puff puffs drop drops "
    "dose doses times x days weeks months years hours minutes mins hrs steps blocks miles km m".split()
)
EXCLUDED_NAMES = frozenset(
    (
        "room rm ward bed bay floor fl level lvl building bldg block wing unit suite apt station "
        "clinic theatre theater or icu er page day week month year cycle dose step grade stage type "
        "version table figure fig chapter section lot batch gate terminal door desk counter window "
        "branch account acct box case ref order item line row seat zone area sector phase part tier "
        "class patient pt id no number code tablet tablets capsule capsules cap caps vial vials cup "
        "cups bottle bottles pack packs visit appointment slot chair cubicle pod cohort arm study "
        "trial protocol lane track question q test score scale bp hr rr temp spo2 weight height "
        "january february march april may june july august september october november december "
        "jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday friday "
        "saturday sunday mon tue wed thu fri sat sun"
    ).split()
)
# A name (one to four words) between an optional house number and a house number: 20789 Allika 46,
# Kopfhölzistrasse 45, Piroska u. 97., Kálmán Imre u. 12.
NAMED_STREET_RE = regex.compile(
    _EDGE
    + r"(?:(?P<num>"
    + _NUM
    + r")[ \t]+)?(?P<name>"
    + _CAP
    + r"\.?(?:[ \t]+(?:"
    + _ANY_WORD
    + r")\.?){0,3})"
    r"[ \t]+(?P<hn>" + _NUM + r")\.?" + _END
)

# With USPS Publication 28's secondary unit designators (appendix C2) that take a number.
UNIT_WORDS = frozenset(
    "apt apartment appt suite ste unit flat floor fl level room rm bldg building box wohnung whg étage "
    "etage piso escalera esc andar bus lgh dept department lot trlr trailer spc space hngr hangar pier "
    "slip ofc penthouse studio depto edif edificio interior puerta bl sc ap et scara bloc".split()
)
# USPS designators without a number (12 Oak St Rear) and ordinal floors (3rd Floor).
_BARE_UNIT = (
    r"(?:Rear|Bsmt|Basement|Frnt|Lbby|Lowr|Uppr|Penthouse|REAR|BSMT|BASEMENT|FRNT|LBBY|LOWR|UPPR)"
    r"(?![\p{L}\p{N}])"
)
_ORDINAL_FLOOR = r"\d{1,2}(?i:st|nd|rd|th)[ \t]+(?i:floor|fl)\.?(?![\p{L}])"
_UNIT = (
    r"(?:(?:(?i:" + alternation(UNIT_WORDS) + r")\.?[ \t]*#?|#)"
    r"[ \t]*[A-Za-z]?\d{1,5}[A-Za-z]?(?:-\d{1,4})?"
    # Spanish floor and door: 7º D (7o D once NFKC-normalized)
    r"|\d{1,2}(?:[º°ª]|o(?![\p{L}]))(?:[ \t]?[A-Z](?![\p{L}]))?"
    r"|" + _ORDINAL_FLOOR + r"|" + _BARE_UNIT + r")"
)
PO_BOX_RE = regex.compile(
    _EDGE + r"(?i:p\.?[ \t]?o\.?[ \t]?box|post[ \t]office[ \t]box|postfach|postboks|postbus|"
    r"apartado(?:[ \t]de[ \t]correos)?|caixa[ \t]postal|casilla)[ \t]*#?[ \t]*\d{1,6}" + _END
)
# PSC 0413, Box 8144 / Unit 8505 Box 9220 / USNS Botolen, then APO|FPO|DPO AA|AE|AP and a ZIP code.
MILITARY_RE = regex.compile(
    r"(?i)" + _EDGE + r"(?:(?:(?:psc|cmr|unit)[ \t]+\d{1,5},?[ \t]+box[ \t]+\d{1,5}"
    r"|us[a-z]{1,3}[ \t]+\p{L}[\p{L}'\-]{1,30}(?:[ \t]+\p{L}[\p{L}'\-]{1,30})?)"  # a ship: USNS Botolen
    r"[ \t]*(?:,[ \t]*|\r?\n[ \t>?]{0,8}))?(?:apo|fpo|dpo)[ \t]+(?:aa|ae|ap)[ \t]+\d{5}"
    r"(?:-\d{4})?" + _END
)
# The corner of 25 Dili Gianni Street and King Forges.
CORNER_RE = regex.compile(
    r"(?i:(?:the[ \t]+)?(?:corner|intersection)[ \t]+of)[ \t]+(?P<a>[^\n;:!?]{2,60}?)[ \t]+(?:and|&)[ \t]+"
    r"(?P<b>(?:(?:"
    + "|".join(sorted(PARTICLES, key=len, reverse=True))
    + r")[ \t]+)?"
    + _CAP
    + r"(?:[ \t]+"
    + _CAP
    + r"){0,3})"
)
# A street name and "and" right before a street line, after the start of the text, a line or a
# clause, or a word that introduces a place.
CORNER_BEFORE_RE = regex.compile(
    r"(?:^|[\n:?;]|(?<![\p{L}])(?i:to|at|of|on))[ \t>]*(?P<street>\p{Lu}[\p{L}\p{M}'’\-]{1,30})"
    r"[ \t]+(?:and|&)[ \t]+\Z"
)
# What may come just before a street line: a unit and up to two numbers (3369 24 Clarke Avenue,
# Suite 541 6343 Skogstien 106).
_LEAD_NUMBER = _EDGE + r"\d{1,10}[A-Za-z]?[ \t]+"
LEAD_RE = regex.compile(
    r"(?:" + _EDGE + _UNIT + r"[ \t]*,?[ \t]+(?:" + _LEAD_NUMBER + r"){0,2}|(?:" + _LEAD_NUMBER + r"){1,2}"
    r"|" + _EDGE + r"(?i:apt|suite|unit|flat)\.?[ \t]*#?[ \t]*"  # Suite 541 6343 joined: Suite 5416343
    # The house number's own label in India and elsewhere: H.No. 74, House No. 12, Plot No. 5, Door No. 3
    r"|" + _EDGE + r"(?i:h\.?[ \t]?no|house[ \t]+no|plot[ \t]+no|door[ \t]+no)\.?[ \t]*)\Z"
)

# A home's unit alone before its street line, on the line above or before a comma: "Flat 88\nGriffiths
# Ridge", "Studio 27, Green Falls", "Unit 42\n5 Thompson Road" (in the UK and New Zealand the flat
# number often stands for the house number). Floors, rooms and buildings are left out: "Room 4, Oak
# Lane" may be inside a hospital.
UNIT_BEFORE_RE = regex.compile(
    _EDGE
    + r"(?i:flat|apartment|apt|unit|studio|suite|ste)\.?[ \t]*#?[ \t]*[A-Za-z]?\d{1,5}[A-Za-z]?"
    + r"[ \t]*(?:,[ \t]*|\r?\n[ \t>]*)\Z"
)

# A house number alone before its street line, on the line above or before a comma, with its
# label or without: "H.No. 718 / Gola Circle", "79/055 / Soman Ganj, Satara 329125" (India). Such a
# street line needs a tail (postal code, region, unit, country) or an address word.
NUMBER_BEFORE_LINE_RE = regex.compile(
    _EDGE
    + r"(?:(?i:h\.?[ \t]?no|house[ \t]+no|plot[ \t]+no|door[ \t]+no)\.?[ \t]*)?"
    + r"(?P<num>"
    + _NUM
    + r")[ \t]*(?:,[ \t]*|\r?\n[ \t>]*)\Z"
)

CITY_FIRST_RE = regex.compile(
    _EDGE + r"(?:\d{4,5}|\d{3}[ \t]\d{2})[ \t]+" + _CAP + r"(?:[ \t]+" + _CAP + r"){0,2}[ \t]*,[ \t]*\Z"
)

# The tail: separators and tokens after a street line.
TAIL_SEP_RE = regex.compile(
    r"[ \t]*(?:(?P<comma>,)[ \t]*(?:\r?\n[ \t>?]{0,8})?"
    r"|(?P<nl>\r?\n(?P<blank>[ \t]*\r?\n)?)[ \t>?]{0,8}(?:,[ \t]*)?"  # "> " and "??? ": quoted mail
    r"|(?P<space>[ \t]+)"
    r"|[ \t]*/[ \t]*(?=[A-Z]{2}(?![\p{L}])))"  # Brazil's city / state: 60133-307 Azevedo / PR
)
_POSTAL = (
    r"\d{4,10}(?:-\d{3,4})?|\d{2}-\d{3}|\d{3}[ \t]\d{2}|[A-Z]{1,2}-\d{4,5}|[A-Z]\d[A-Z][ \t]?\d[A-Z]\d"
    r"|[A-Z]{1,2}\d[A-Z\d]?[ \t]?\d[A-Z]{2}|\d{4}[ \t]?[A-Z]{2}(?![\p{L}])"
    # Irish Eircode: a routing key (a letter and two digits, or D6W) and four characters of the
    # unique identifier, from an alphabet without B, G, I, J, L, M, O, Q, S, U, Z (E27 NY0K, N19VKC6).
    r"|(?:[AC-FHKNPRTV-Y]\d{2}|D6W)[ \t]?[0-9AC-FHKNPRTV-Y]{4}"
)
TAIL_TOKEN_RE = regex.compile(
    r"(?P<unit>"
    + _UNIT
    + r"|RD[ \t]\d{1,2}"  # New Zealand's rural delivery: 52 Sullivan Grove, RD 1, Rangiora 7471
    + r")"
    + _END
    + r"|(?P<postal>"
    + _POSTAL
    + r")"
    + _END
    + r"|(?P<word>[\p{Lu}∆][\p{L}\p{M}'’\-∆]{0,30}(?P<dot>\.)?|\(\p{L}[\p{L}\p{M} ]{0,20}\))"
    + r"|(?P<number>\d{1,3})"
    + _END
    + r"|(?P<lower>\p{Ll}[\p{L}\p{M}'’\-∆]{0,30})(?![.\p{N}])"
)
# A line starting with one of these is not part of an address above it.
NOT_PLACE = frozenset(
    (
        "thanks thank regards best sincerely cheers hi hello dear kind warm yours please patient dr "
        "mr mrs ms miss prof date dob re subject note notes phone tel telephone mobile cell email "
        "e-mail fax the this that i we he she they you it my our his her their meet and but then "
        "also see if when ward bed bay room floor level building diagnosis plan hx tx rx mrn "
        "account iban sort call ref reference order invoice total amount"
    ).split()
)
LOWER_STOP = frozenset(
    "and or but then to for from is was are were on at in with please thanks if when i we he she "
    "they you it my our his her their not no".split()
)
NULL_FIELD = "nan"  # an empty field printed by a spreadsheet export
COUNTRIES = frozenset(
    (
        "usa|us|united states|united states of america|america|canada|mexico|brazil|argentina|chile|"
        "uruguay|paraguay|peru|colombia|venezuela|bolivia|ecuador|uk|united kingdom|great britain|"
        "england|scotland|wales|northern ireland|ireland|france|germany|deutschland|austria|"
        "österreich|switzerland|schweiz|suisse|belgium|belgique|netherlands|nederland|"
        "the netherlands|holland|luxembourg|denmark|danmark|norway|norge|sweden|sverige|finland|"
        "suomi|iceland|ísland|greenland|faroe islands|estonia|latvia|lithuania|poland|polska|"
        "czech republic|czechia|slovakia|hungary|magyarország|slovenia|croatia|serbia|bosnia|"
        "montenegro|albania|north macedonia|greece|cyprus|malta|italy|italia|spain|españa|"
        "portugal|romania|bulgaria|moldova|ukraine|belarus|russia|turkey|türkiye|israel|egypt|"
        "morocco|tunisia|algeria|south africa|nigeria|kenya|ghana|india|pakistan|bangladesh|"
        "sri lanka|nepal|china|japan|korea|south korea|taiwan|hong kong|singapore|malaysia|"
        "indonesia|philippines|thailand|vietnam|australia|new zealand|uae|united arab emirates|"
        "saudi arabia|qatar|kuwait|jordan|lebanon"
    ).split("|")
)
REGION_CODES = frozenset(
    (
        "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM "
        "NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR GU VI AS MP AA AE AP "
        "AB BC MB NB NL NS NT NU ON PE QC SK YT NSW VIC QLD SA WA TAS ACT NT"
    ).split()
)
# A line of the address ends at the line's end, a comma, or the end of the sentence.
LINE_END_RE = regex.compile(r"[ \t]*(?:[.?!;:)]?(?:\r?\n|\Z|[ \t])|,)")
SPACES_RE = regex.compile(r"[ \t]+")
# Characters, lead to country: inside the 256 that analyzer.WINDOW_OVERLAP allows a finding.
MAX_ADDRESS = 220
MAX_TAIL_LINES = 5
MAX_SEGMENT_TOKENS = 6
