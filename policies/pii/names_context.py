"""Context of English person names: cue words, titles, firms, places, eponyms, and the
patterns before and after a name that make it one or rule it out."""

from __future__ import annotations

import regex

# Titles: the next name-like words are a name in any casing.
_TITLES = (
    "dr doctor mr mrs ms mx miss mister madam madame mme mlle prof professor sir dame rev reverend "
    "fr nurse sister capt captain sgt sergeant lt lieutenant col colonel herr frau sr sra srta"
).split()
# Words for a person: a name-like word or two after them is a name.
_PERSON_WORDS = (
    "patient patients pt pts client clients customer customers cust member members cardholder holder "
    "accountholder beneficiary beneficiaries payee payer applicant applicants borrower borrowers "
    "guarantor policyholder insured subscriber guest visitor caller resident attending intern "
    "registrar consultant surgeon physician clinician provider practitioner therapist physio "
    "pharmacist midwife chaplain interpreter advisor adviser banker teller agent officer manager rep "
    "representative colleague coworker supervisor employee tenant landlord owner executor trustee "
    "attorney lawyer solicitor witness sponsor referrer gp np rn "
    "daughter daughters son sons wife husband mother father mom mum dad sister brother sibling partner "
    "spouse fiance fiancee girlfriend boyfriend widow widower grandson granddaughter grandmother "
    "grandfather grandma grandpa granny niece nephew aunt uncle cousin guardian carer caregiver friend "
    "neighbor neighbour stepson stepdaughter stepmother stepfather kin nok poa proxy surrogate "
    "named called name aka alias nee née dear hi hello hey attn attention regards sincerely thanks "
    "cheers signed cc bcc kid kids child children baby infant toddler grandchild grandkid stepchild "
    "surname surnames"
).split()
# Words that often come before a name but as often before anything else: with them a name needs two
# name-like words, one of them listed or both capitalized.
_WEAK_WORDS = (
    "for to from with by and or vs per about re call phone email text contact tell ask notify inform "
    "remind thank met meet see saw visit visited page paged consult refer referred transfer pay paid "
    "send sent approve verify discharge admit admitted schedule book summarize summarise draft write "
    "review behalf of "
    # The same verbs done: "reviewed niel byard", "emailed kalya barcelo"; and a copula ("bed 12 is
    # madina hawley"), where the name still needs two name-like words.
    "reviewed called emailed texted phoned contacted notified informed reminded thanked asked told "
    "discharged scheduled booked transferred approved verified is was"
).split()
CUE_WORDS = frozenset(_TITLES) | frozenset(_PERSON_WORDS)
# Surnames in the lists ("An", "To", "Do", "So", "And") that in lower case or capitals are words.
FUNCTION_WORDS = frozenset(
    "a an and are as at be but by do for from had has have he her his i if in is it me my no nor not "
    "of on or our out so than that the their them then there they this to too up us was we were what "
    "when where who why with you your".split()
)
# The patterns that end a ``before`` text at ``$`` search backwards (REVERSE): from the end they fail
# at once where a forward search would try every start.
TITLE_BEFORE_RE = regex.compile(
    r"(?<![\p{L}])(?:" + "|".join(_TITLES) + r")\.?[ \t]{1,3}$", regex.IGNORECASE | regex.REVERSE
)
PERSON_BEFORE_RE = regex.compile(
    r"(?<![\p{L}])(?:"
    + "|".join(sorted(_PERSON_WORDS, key=len, reverse=True))
    + r"|account[ \t]holder|card[ \t]holder|next[ \t]of[ \t]kin|known[ \t]as|goes[ \t]by|c/o"
    r"|(?:(?:full|patient|customer|first|last|given|family|middle|maiden|nick|user)[ \t]?)?name(?:['’]s)?"
    r"(?:[ \t](?:is|was))?"
    r"|call(?:s|ed)?[ \t]me|named[ \t](?:him|her|them)|(?:said|says|asked|asks|told|replied|answered|shouted|"
    r"yelled|screamed|whispered|cried)"
    r"(?:[ \t](?:at|to)|[ \t]\p{Lu}[\p{L}\p{M}'’\-]{1,30}[ \t](?:to|at))?"
    # Other verbs of speech name the speaker after them, not always the listener ("explained to
    # Fuse TV" is a channel).
    r"|explained|explains|insisted|insists|muttered|murmured|exclaimed|sighed|laughed|joked|"
    r"interrupted|protested|retorted|responded|remarked|wondered|warned|pleaded|begged|sobbed|snapped|"
    r"grumbled"
    r"|starring|featuring"
    # Talking with someone, writing to someone ("I spoke with Bale Wario", "a letter to Wage
    # Rahmawati"). Not "referred by" nor "referral from": departments refer too ("Referred by High
    # Dependency Unit", "Interventional Radiology").
    r"|(?:spoke|speak|speaks|speaking|spoken|talked|talk|talks|talking|chatted|met|meeting)[ \t](?:with|to)"
    r"|(?:letter|e-?mail)[ \t](?:to|from)|on[ \t]behalf[ \t]of"
    r"|(?:written|directed|signed|authored|witnessed|countersigned|co-?signed|produced|painted|composed|"
    r"seen|reviewed|examined|assessed|dictated|verified|authori[sz]ed|interviewed|escorted|accompanied|"
    r"supervised|transcribed|attended|treated|operated[ \t]on)[ \t]by"
    r"|(?:" + "|".join(_TITLES) + r"|nurse|doctor|surgeon|consultant|physician|registrar|manager|officer|"
    r"person|clinician|pharmacist|midwife|banker|advisor|adviser|agent|contact)"
    r"[ \t](?:in[ \t]charge|on[ \t]call|on[ \t]duty|responsible|assigned|of[ \t]the[ \t]day))"
    r"(?:[ \t]*[:=,\-–—(?]|\.)?[ \t\n]{0,3}$",
    regex.IGNORECASE | regex.REVERSE,
)
# A form's name field: "surname: majestic", "First name = ray". What follows is a name in any
# casing, even a word ("surname: pat"), unless it is a function word.
NAME_LABEL_BEFORE_RE = regex.compile(
    r"(?<![\p{L}])(?:(?:full|patient|customer|first|last|given|family|middle|maiden|sur|fore)[ \t]?name"
    r"|name)[ \t]*[:=][ \t]*$",
    regex.IGNORECASE,
)
# What forms write where a name is not known: never a name after a name field.
NAME_PLACEHOLDERS = frozenset(
    "unknown none null nil na n/a tbc tba tbd pending declined withheld same redacted anonymous unnamed "
    "blank test patient".split()
)
# "seen by", "reviewed by": departments and teams come after these too ("seen by ortho").
BY_BEFORE_RE = regex.compile(r"(?<![\p{L}])by[ \t]*[:,]?[ \t]*$", regex.IGNORECASE)
# Phrases that introduce oneself or someone: one listed first name, or two name parts, after them.
INTRO_BEFORE_RE = regex.compile(
    r"(?<![\p{L}])(?:i[ \t]am|i['’]m|this[ \t]is|it[ \t]is|meet|introducing)[ \t]{1,3}$", regex.IGNORECASE
)
# A caller naming themself: "this is", "it is", "I am" (not "meet": "meet Tuesday at noon").
CALLER_BEFORE_RE = regex.compile(
    r"(?<![\p{L}])(?:i[ \t]am|i['’]m|this[ \t]is|it[ \t]is)[ \t]{1,3}$", regex.IGNORECASE
)
# After "this is <name>": where the caller is from or what they do ("this is ronan from ward 9").
INTRO_AFTER_RE = regex.compile(
    r"[ \t,]+(?:from|calling|speaking|here|at|on[ \t]+behalf)(?![\p{L}])", regex.IGNORECASE
)
# Words that introduce a list of people: every name-like member of the list is a name.
PEOPLE_LIST_BEFORE_RE = regex.compile(
    r"(?<![\p{L}])(?:(?:founders|co-?founders|authors|patients|team|attendees|participants|members|guests|"
    r"speakers|panelists|invitees|recipients|signatories|staff|children|kids|siblings|parents|"
    r"grandchildren|partners|directors|owners|applicants|beneficiaries|witnesses|contacts|visitors|"
    r"nurses|doctors|surgeons|residents|students|employees|colleagues|starring|cast)[ \t]*[:\-–—]?"
    r"|(?:to|from|cc|bcc|with|present|absent|apologies)[ \t]*:)[ \t\n]{0,3}$",
    regex.IGNORECASE,
)
WEAK_BEFORE_RE = regex.compile(
    r"(?:(?<![\p{L}])(?:" + "|".join(_WEAK_WORDS) + r")|[,&;:(/]|^)[ \t]{0,3}$", regex.IGNORECASE
)
# What follows a person's name: a personal detail, a credential, a verb of care or banking.
DETAIL_AFTER_RE = regex.compile(
    r"(?:[ \t]*[,(\-–—:]?[ \t]*(?:dob|d\.o\.b|date[ \t]of[ \t]birth|born|ssn|mrn|nhs|age|aged|"
    r"\d{1,3}[ \t]?(?:yo|y/o|y\.o\.|years?|yrs?|-year-old|[mf]\b)|(?<=[,(][ \t]*)\d{1,3}[ \t]*[,)]|"
    r"md|m\.d\.|rn|np|pa-c|do|phd|dds|mbbs|frcp|frcs|mrcp|jr|sr|ii|iii|esq)(?![\p{L}])"
    r"|[ \t]+(?:was|is|has|had)[ \t]+(?:been[ \t]+)?(?:seen|admitted|discharged|transferred|referred|"
    r"evaluated|diagnosed|started|prescribed|brought|scheduled|booked|approved|declined|charged)"
    r"|[ \t]+(?:presented|presents|reports|reported|complains|complained|denies|denied|states|stated|"
    r"called|phoned|says|said|asked|requests|requested|wants|needs|paid|deposited|withdrew|opened|"
    r"closed|signed|visited|arrived|died|passed|underwent|tolerated|consented|agreed|declined|missed|"
    r"presented|lives|works|emailed|wrote|reported|disputes|disputed|shouted|yelled|whispered|smiled|"
    r"laughed|spent|began|lived|married|studied|graduated|speaking|thinks|thought|feels|knows|replied|"
    r"answered)(?![\p{L}])"
    r"|[ \t]+(?:is|was)[ \t]+(?:a[ \t]+)?(?:very|so|really|always|never|such)(?![\p{L}]))",
    regex.IGNORECASE,
)
# After a possessive, these make the owner a person ("Nguyen's account"); others do not
# ("Parkinson's disease", "Crohn's flare").
OWNED_RE = regex.compile(
    r"['’]s?[ \t]+(?:\p{L}+[ \t]+)?(?:daughter|son|wife|husband|mother|father|mom|mum|dad|sister|brother|"
    r"kid|child|baby|boss|friend|girlfriend|boyfriend|fiance|fiancee|colleague|birthday|wedding|funeral|"
    r"partner|spouse|children|kids|family|carer|caregiver|account|accounts|card|cards|chart|file|record|"
    r"records|case|appointment|balance|statement|loan|mortgage|insurance|phone|number|address|email|"
    r"dob|ssn|mrn|medication|medications|meds|results|labs|note|notes|letter|referral|consent|"
    r"discharge|admission|surgery|visit|bill|invoice|payment|payments|transfer|claim|policy|home|"
    r"room|bed|test|scan|biopsy|blood|prescription|allergies|history|condition|symptoms|pain)(?![\p{L}])",
    regex.IGNORECASE,
)
# A name right before these is a place or an institution named after someone ("Johns Hopkins
# Hospital", "Oakwood branch"); as the last word of a run they are not a surname ("Lincoln Square").
PLACE_WORDS = frozenset(
    """
    hospital hospitals clinic clinics center centre medical health healthcare hospice infirmary
    pavilion building tower campus institute institution university college school academy
    foundation memorial trust fund bank banking financial capital securities investments insurance
    group inc llc ltd corp corporation company co associates partners pharmacy pharmaceuticals labs
    laboratories cathedral library museum airport station bridge street st avenue ave road rd
    boulevard blvd square plaza drive county city township heights springs branch office offices
    unit suite floor surgery practice centre lab labs laboratory service services team department
    dept program programme ward wards bay theatre theater
    orchestra band choir ensemble consulting consultants solutions systems technologies software
    holdings ventures media studios enterprises industries international limited plc gmbh llp
    sons brothers bros agency ratings
    """.split()
)
# Place words that are also frequent surnames (Ward ranks about 100th in the US): after a listed
# first name they end a person's name ("Amy Ward"). A ward named after someone ("Victoria Ward")
# is then redacted too, which costs less than a patient's name reaching the model. Not "Branch"
# nor "Street": bank branches and streets are named after cities and people that are first names
# ("Austin Branch", "Charlotte Branch", "George Street"), and far more often than people are called so.
SURNAME_PLACE_WORDS = frozenset({"ward"})
# Eponyms: "Smith fracture", "Wells score", "Parkinson's disease", "Foley catheter".
EPONYM_TAILS = frozenset(
    """
    syndrome disease diseases sign signs test tests fracture score scale criteria classification grade
    stage procedure operation maneuver manoeuvre position catheter tube drain blade forceps clamp
    retractor repair reflex triad phenomenon effect formula equation index cell cells body bodies node
    nodes cyst cysts tumor tumour lymphoma sarcoma carcinoma palsy paralysis anomaly malformation
    deformity contracture disorder pouch diverticulum esophagus oesophagus ulcer thyroiditis dementia
    encephalopathy neuroma protein factor antigen stain lamp chart monitor pump valve shunt anastomosis
    incision point space canal duct gland ligament membrane nerve plexus fibers fibres spots nodules
    lesions technique method approach rule rules respiration breathing murmur sound pulse solution
    ratio law regimen protocol loop hold tear tears injury foot hand class ring thickness spot line
    arch angle zone complex bundle granules stripe striae nodule nodules maneuvre manoeuvres test
    """.split()
)
# Products named after someone ("Marcus savings", "Chase Sapphire card").
PRODUCT_TAILS = frozenset(
    "card cards account accounts savings checking rewards mortgage loan visa mastercard plan award "
    "lecture scholarship prize act fellowship".split()
)
PLACE_BEFORE_RE = regex.compile(
    r"(?<![\p{L}])(?:st|ste|saint|san|santa|sao|mount|mt|fort|ft|port|lake|cape|camp|glen|upper|lower|"
    r"north|south|east|west|new)\.?[ \t]+$",
    regex.IGNORECASE,
)
# Institutions and firms whose names are a first name and a surname, or two surnames.
ORGANISATIONS = frozenset(
    name.strip()
    for name in """
    charles schwab|edward jones|raymond james|morgan stanley|goldman sachs|merrill lynch|john hancock|
    wells fargo|jp morgan|j p morgan|j.p. morgan|jpmorgan chase|paine webber|dean witter|smith barney|
    lloyds banking|johns hopkins|dana farber|sloan kettering|memorial sloan kettering|cedars sinai|
    kaiser permanente|beth israel|beth israel deaconess|lenox hill|baylor scott|ronald mcdonald|
    henry ford|eli lilly|johnson johnson|bristol myers|bristol myers squibb|abbott laboratories|
    boston scientific|thermo fisher|becton dickinson|mass general|brigham women|kings college|
    guy thomas|st thomas|great ormond|addenbrookes|john radcliffe|charing cross|mary washington|
    sutter health|scott white|rush university|ben taub|harris health|grady memorial|barnes jewish|
    nationwide children|cook children|lurie children|rady children|shriners|apple pay|google pay|
    samsung pay|amazon pay|chase sapphire|marcus goldman
    """.split("|")
)

# First names that start a sentence as verbs ("Will Maria come?", "Mark John as seen").
VERB_NAMES = frozenset("will may mark bill grant pat sue rob chase page drew call ask sign".split())
# The start of a sentence.
SENTENCE_START_RE = regex.compile(r"(?:^|[\n.!?:;]|\.[ \t])[ \t\"'(]*$")
# The start of the text, of a line or of a field ("Name: ", "Re: ").
FIELD_START_RE = regex.compile(r"(?:^|[\n:;>]|\.[ \t])[ \t]*$")
# A line that opens with a name and a dash before its subject ("spragg, margeart - card replacement").
SUBJECT_AFTER_RE = regex.compile(r"[ \t]+[-–—][ \t]+\w")
# What may separate two parts of one name: blanks on one line, or the dot of an initial.
JOIN_RE = regex.compile(r"[ \t]{1,3}|\.[ \t]{0,2}")

# Words after a name that make it an eponym or a product only when it is not a full name of two
# listed names: "Maria Gonzalez test results", "Tran Nguyen chart" are people.
SOFT_TAILS = frozenset(
    "test tests chart plan card cards account accounts savings checking rewards mortgage loan file "
    "record score scale position point sign signs sound pulse home room unit ward floor bed".split()
)


# Lower-case particles of surnames ("van", "de", "ten", "bin"): a capitalized name goes on past them.
NAME_PARTICLES = frozenset(
    "van von der den ten ter de da di del della dos das du le la bin ibn ben ap".split()
)
PARTICLE_BEFORE_RE = regex.compile(
    r"(?<![\p{L}])(?:" + "|".join(sorted(NAME_PARTICLES)) + r")[ \t]$", regex.IGNORECASE
)
CAPITALIZED_AFTER_RE = regex.compile(r"[ \t]\p{Lu}\p{Ll}")
# Travel before a lone word: a place ("moved here from Kenosha", "flew to Coles").
TRAVEL_BEFORE_RE = regex.compile(
    r"(?<![\p{L}])(?:moved|moving|move|flew|fly|flying|travel(?:l)?(?:ed|ing)?|returned|returning|drove|"
    r"driving|relocated|emigrated|immigrated|went|going|trip|holiday|vacation|born|live|lived|lives|living)"
    r"(?:[ \t]+(?:here|there|back|home|away|over))?[ \t]+(?:from|to|in|into)[ \t]+$",
    regex.IGNORECASE,
)
# A place's kind before its name ("home city Villafranca del Cid", "the village of Ettelgem").
PLACE_KIND_BEFORE_RE = regex.compile(
    r"(?<![\p{L}])(?:city|town|village|county|province|region|district|municipality|borough|parish|"
    r"island|state|country|capital)(?:[ \t]+of)?[ \t]{1,3}$",
    regex.IGNORECASE,
)
# What only a person does, after a lone name-like word ("Trivo lives on", "Mourik began writing").
PERSON_VERB_AFTER_RE = regex.compile(
    r"[ \t]+(?:lives|lived|works|worked|married|studied|graduated|thinks|thought|feels|felt|knows|knew|"
    r"smiled|laughed|shouted|yelled|whispered|replied|answered|says|said|wrote|began[ \t]+writing|"
    r"grew[ \t]+up|was[ \t]+born|explained|explains|insisted|insists|muttered|murmured|exclaimed|sighed|"
    r"nodded|shrugged|frowned|winked|waved|cried|sobbed|apologi[sz]ed|complained|promised|admitted|"
    r"joked|wondered|remembered|forgot|decided|hopes|hoped|believes|believed|interrupted|"
    r"(?:will|would|can|could|should|must|might|did|does|has|had|have|never|always|just|also)"
    r"(?:[ \t]+not|n['’]t)?[ \t]+(?:say|said|tell|told|ask|asked|reply|replied|answer|answered|explain|"
    r"explained|promise|promised|agree|agreed|decide|decided|call[ \t]+(?:back|you|me|us|him|her|them)|"
    r"phone[ \t]+(?:back|you|me|us)|come[ \t]+(?:in|back|by|over|round|home)|visit|visited|sign|signed|"
    r"meet|met|marry|married|remember|remembered|forget|forgot|forgotten|laugh|cry|smile|think|thought|"
    r"know|knew|known|feel|felt|want|wanted|like|liked|love|loved|hate|hated|apologi[sz]e|apologi[sz]ed))"
    r"(?![\p{L}])",
    regex.IGNORECASE,
)
# "the Sokolov novel": a name-like word between an article and a work that someone wrote.
WORK_BEFORE_RE = regex.compile(r"(?<![\p{L}])(?:the|a|an)[ \t]+$", regex.IGNORECASE)
WORK_AFTER_RE = regex.compile(
    r"[ \t]+(?:novel|novels|memoir|memoirs|biography|poem|poems|essay|essays|short[ \t]+story)(?![\p{L}])",
    regex.IGNORECASE,
)
# The start of a line (a quoted line too: "> Ubul: ...").
LINE_START_RE = regex.compile(r"(?:^|\n)[ \t>*\-]*$")
MEMBER_AFTER_RE = regex.compile(r"[ \t]*(?:,|&|[ \t](?i:and|or))[ \t]*\p{Lu}")
MEMBER_BEFORE_RE = regex.compile(r"\p{Lu}[\p{L}\p{M}'’\-]*[ \t]*(?:,|&|[ \t](?i:and|or))[ \t]*$")
THE_BEFORE_RE = regex.compile(r"(?<![\p{L}])the[ \t]+$", regex.IGNORECASE)
WORD_AFTER_RE = regex.compile(r"[ \t]+(?:&[ \t]+)?(\p{L}+)")
LINE_END_AFTER_RE = regex.compile(r"[ \t]*(?:\r?\n|\Z)")
AND_OR_RE = regex.compile(r"[ \t](?:and|or)[ \t]", regex.IGNORECASE)
# A lower-case word next: the verb of a sentence whose subject ends here ("Usamov and Bowers were").
LOWER_WORD_AFTER_RE = regex.compile(r"[ \t]+\p{Ll}")
# A vocative: the person spoken to opens the sentence, a comma, then the request ("Okonkwo, could
# you check the INR?", "Chebet, please call the ward"). "Sorry, can I" and "Also, please" are
# English words, which never reach this rule.
VOCATIVE_AFTER_RE = regex.compile(
    r",[ \t]*(?:(?:can|could|would|will|do|did|are|have|may|should|shall)[ \t]+(?:you|i|we)|"
    r"please|thanks|thank[ \t]+you|i[ \t]+need|i['’]m|i[ \t]+am|we[ \t]+need|"
    r"you[ \t]+(?:need|have|must|should)|"
    r"let['’]s|let[ \t]+me|listen|look|sorry|are[ \t]+you|is[ \t]+(?:that|this|it)|how[ \t]+are|"
    r"where[ \t]+(?:is|are)|when[ \t]+(?:is|are|can|will))(?![\p{L}])",
    regex.IGNORECASE,
)
# What two people opening a sentence in capitals or lower case do next ("GOFFNEY AND BRAKE WERE
# BOTH CHARGED", "kaur and cureton called"): a verb, where the casing cannot show one.
PAIR_VERB_AFTER_RE = regex.compile(
    r"[ \t]+(?:were|are|have|had|both|will|would|did|said|say|asked|called|phoned|came|come|went|met|"
    r"live|lived|work|worked|want|wanted|need|needed|signed|agreed|arrived|left|visited|opened|"
    r"closed|paid|married|divorced)(?![\p{L}])",
    regex.IGNORECASE,
)
# Before a place rather than a person ("in Store Merløse", "at Tobel").
PLACE_PREPOSITION_RE = regex.compile(
    r"(?<![\p{L}])(?:in|at|near|via|across|around|through|outside|inside|into|towards?)[ \t]{1,3}$",
    regex.IGNORECASE,
)
# A speaker label's colon: then speech, not a number, a time or an address.
SPEAKER_AFTER_RE = regex.compile(r"[ \t]*:(?![ \t]*[\d/])")
# What separates the members of a list: a comma, "and", "or", "&" ("Morrison, Rogers and Torres").
LIST_SEPARATOR_RE = regex.compile(
    r"[ \t]*(?:,[ \t]*(?:(?:and|or)[ \t]+)?|[ \t]+(?:and|or|&)[ \t]+|[ \t]*&[ \t]*)", regex.IGNORECASE
)
