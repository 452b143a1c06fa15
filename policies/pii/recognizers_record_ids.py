"""Numbers that name a person in a hospital's, an insurer's or a state's records, each right after
the word that names it (HIPAA's medical record and health plan beneficiary numbers, GDPR's
national identification numbers):

- MEDICAL_RECORD_NUMBER: MRN, medical record, hospital, patient, chart, unit (URN) and NHS
  numbers, 病历号, 住院号 ...;
- INSURANCE_ID: health plan member, subscriber, policy, Medicare and Medicaid numbers, 医保卡号 ...;
- NATIONAL_ID: national identity and tax numbers of any country (National Insurance, SIN, PAN,
  Aadhaar, TIN/EIN/ITIN, BSN, CPF, DNI/NIE, codice fiscale, personnummer, PESEL ...);
- card security codes (CVV, CVC, CSC: three or four digits) as CREDIT_CARD: card data no model
  may see;
- PERSONAL_ID: numbers an employer, a bank or a school gives a person (employee, customer,
  client, student numbers, 工号, 客户号);
- VEHICLE_ID: vehicle identification numbers (VIN, chassis number, 车架号).

All at 0.85, never on shape alone (the shapes are any code's). US SSNs, PRC resident IDs and
passports have recognizers of their own.
"""

from __future__ import annotations

import regex

from policies.pii.after_word import AfterWord, letters_and_digits

# Letters and digits, single dots, dashes or slashes between them, and single spaces before a digit
# or a lone capital letter (so the next word is not taken along): "1EG4-TE5-MK73", "213.104.987-09",
# "380425/848", "QQ 12 34 56 C", "1 85 05 78 006 084 36".
_ID_SHAPE_RE = regex.compile(
    r"[A-Za-z0-9](?:[A-Za-z0-9]|[.\-/](?=[A-Za-z0-9])| (?=\d|[A-Z](?![A-Za-z]))){3,29}(?![A-Za-z0-9@_])"
)
_CVV_SHAPE_RE = regex.compile(r"\d{3,4}(?![\dA-Za-z]|[.,/]\d)")
# A vehicle identification number: 17 letters and digits, never I, O or Q (ISO 3779).
_VIN_SHAPE_RE = regex.compile(r"[A-HJ-NPR-Za-hj-npr-z0-9]{17}(?![A-Za-z0-9])")

_RECORD_WORDS = (
    *("mrn", "mrn#", "medical record", "medical record number", "medical record no", "med rec no"),
    *("hospital number", "hospital no", "hosp no", "patient id", "patient number", "patient no"),
    *("chart number", "chart no", "chart #", "record number", "record no", "urn", "unit number"),
    *("nhs number", "nhs no", "chi number", "chi no", "ihi", "health record number"),
    *("病历号", "病案号", "住院号", "门诊号", "就诊卡号", "病人编号", "患者编号", "登记号"),
)
_INSURANCE_WORDS = (
    *("member id", "member number", "member no", "membership number", "membership no"),
    *("subscriber id", "subscriber number", "insurance id", "insurance member", "insurance policy"),
    *("insurance card", "health insurance number", "health insurance no", "health plan id"),
    *("beneficiary id", "beneficiary identifier", "medicare beneficiary identifier"),
    *("beneficiary number", "policy number", "policy no", "policy #", "medicare", "medicare number"),
    *("medicaid", "medicaid number", "medicaid id", "mbi", "versichertennummer", "carte vitale"),
    *("医保卡号", "医保号", "医保卡", "社保卡号", "社保号", "保单号", "参保号"),
)
_NATIONAL_ID_WORDS = (
    *("national insurance", "national insurance number", "ni number", "ni no", "nino"),
    *("sin", "social insurance number", "pan", "pan number", "permanent account number"),
    *("aadhaar", "aadhar", "aadhaar number", "uidai", "tax id", "tax identification number"),
    *("tin", "ein", "itin", "taxpayer id", "taxpayer identification number", "tax file number"),
    *("tfn", "ird number", "national id", "national identity number", "national id number"),
    *("id number", "identity number", "identity card number", "id card number", "personal number"),
    *("personnummer", "personal identity number", "bsn", "burgerservicenummer", "cpf", "dni", "nie"),
    *("nif", "codice fiscale", "fiscal code", "pesel", "nir", "steuer-id", "steuernummer"),
    *("steueridentifikationsnummer", "henkilötunnus", "hetu", "cnp", "oib", "isikukood"),
    *("asmens kodas", "personas kods", "rodné číslo", "birth number", "tc kimlik", "tckn"),
    *("nric", "hkid", "mykad", "curp", "rfc", "rut", "cuil", "cuit", "rrn", "resident registration"),
    *("sss", "umid", "身分證", "身份证号码", "税号", "纳税人识别号"),
    *("numéro de sécurité sociale", "sécurité sociale", "numéro fiscal", "cod numeric personal"),
    *("sozialversicherungsnummer", "sv-nummer", "número de identificación", "numero fiscale"),
)
_CVV_WORDS = (
    "cvv",
    "cvv2",
    "cvc",
    "cvc2",
    "csc",
    "cvn",
    "security code",
    "card security code",
    "安全码",
    "卡背三位",
)


_PERSONAL_ID_WORDS = (
    *("employee id", "employee number", "employee no", "staff id", "staff number", "staff no"),
    *("payroll number", "payroll no", "personnel number", "student id", "student number"),
    *("customer id", "customer number", "customer no", "client id", "client number", "client no"),
    *("cif", "cif number", "user id", "login id", "badge number", "工号", "员工编号", "学号", "客户号"),
    *("客户编号", "会员号"),
)
_VIN_WORDS = (
    *("vin", "vin#", "vin no", "vehicle identification number", "vehicle id number", "chassis number"),
    *("chassis no", "车架号", "车辆识别代号", "车辆识别码"),
)


def _looks_like_vin(value: str) -> bool:
    return any(ch.isdigit() for ch in value) and any(ch.isalpha() for ch in value)


def _looks_like_record(value: str) -> bool:
    # Hospitals number records by admission date too (病历号 20231105 ...): a date shape stays one.
    return letters_and_digits(value, chars=(4, 16), min_digits=4, max_letters=4, dates=True)


def _looks_like_member_number(value: str) -> bool:
    """A number an insurer, employer or bank issues: five to twenty letters and digits."""
    return letters_and_digits(value, chars=(5, 20), min_digits=4, max_letters=10)


def _looks_like_national_id(value: str) -> bool:
    # PAN: ABCPE1234F (four digits, six letters); CURP: 18 characters, ten letters.
    return letters_and_digits(value, chars=(6, 24), min_digits=4, max_letters=11)


#: Medical record, hospital, patient, chart and NHS numbers right after their word: four to
#: sixteen letters and digits, at least four digits, at most four letters (a date's shape too).
MEDICAL_RECORD_NUMBER = AfterWord("MEDICAL_RECORD_NUMBER", _RECORD_WORDS, _ID_SHAPE_RE, _looks_like_record)
#: Health plan member, subscriber, policy, Medicare and Medicaid numbers right after their word:
#: five to twenty letters and digits, at least four digits.
INSURANCE_ID = AfterWord("INSURANCE_ID", _INSURANCE_WORDS, _ID_SHAPE_RE, _looks_like_member_number)
#: National identity and tax numbers of any country right after their name: six to twenty-four
#: letters and digits, at least four digits, not a date.
NATIONAL_ID = AfterWord("NATIONAL_ID", _NATIONAL_ID_WORDS, _ID_SHAPE_RE, _looks_like_national_id)
#: A card's security code (CVV, CVC, CSC, 安全码): three or four digits right after the word.
CARD_SECURITY_CODE = AfterWord("CREDIT_CARD", _CVV_WORDS, _CVV_SHAPE_RE, lambda value: True)
#: Numbers an employer, a bank or a school gives a person (employee, staff, payroll, customer,
#: client, student, CIF numbers, 工号, 客户号): four to twenty letters and digits, at least four digits.
PERSONAL_ID = AfterWord("PERSONAL_ID", _PERSONAL_ID_WORDS, _ID_SHAPE_RE, _looks_like_member_number)
#: A vehicle identification number (VIN, chassis number, 车架号): 17 letters and digits without
#: I, O or Q. It names the car, so its keeper, as a plate does (HIPAA's vehicle identifiers).
VEHICLE_ID = AfterWord("VEHICLE_ID", _VIN_WORDS, _VIN_SHAPE_RE, _looks_like_vin)
RECORD_ID_KINDS = (
    MEDICAL_RECORD_NUMBER,
    INSURANCE_ID,
    NATIONAL_ID,
    PERSONAL_ID,
    CARD_SECURITY_CODE,
    VEHICLE_ID,
)
