"""Device identifiers (DEVICE_ID): a network card's MAC address, a phone's IMEI, a device's serial
number. A device goes with its owner, so under GDPR these are personal data (online identifiers),
and HIPAA lists "device identifiers and serial numbers" among the eighteen that make health data
identifiable (a pacemaker's serial number names its patient).

- MAC addresses by shape: six pairs of hex digits joined by one separator throughout
  (``20:c7:51:24:47:e3``, ``20-C7-51-24-47-E3``) at 0.85 when a hex letter shows it is no clock;
  one in digits only (``20:15:30:45:12:00``), and twelve hex digits with letters and digits in
  one run (``20c7512447e3``, also what normalization makes of Cisco's ``20c7.5124.47e3``), count
  next to a device word (MAC, device, Wi-Fi, Bluetooth, NIC ...).
- IMEI, MEID, UDID, device and serial numbers right after their word (``DEVICE_SERIAL``, an
  ``AfterWord`` kind): six to forty letters and digits, at least three digits.
"""

from __future__ import annotations

import regex
from presidio_analyzer import RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from policies.pii.after_word import AfterWord, letters_and_digits
from policies.pii.context import ContextWords
from policies.pii.recognizer_base import RuleRecognizer

_HEX = "[0-9A-Fa-f]"
_MAC_RE = regex.compile(
    rf"(?<![0-9A-Za-z:.\-])(?:{_HEX}{{2}}(?P<sep>[:\-]){_HEX}{{2}}(?:(?P=sep){_HEX}{{2}}){{4}}"
    rf"|(?P<plain>{_HEX}{{12}}))(?![0-9A-Za-z]|[:\-.][0-9A-Za-z])"
)
# Every MAC address shape holds two hex digits in a row: a cheap first test.
_HINT_RE = regex.compile(rf"{_HEX}[:\-]?{_HEX}")
_DEVICE_WORDS = ContextWords(
    [
        *("mac", "mac address", "hardware address", "physical address", "device", "devices", "wifi"),
        *("wi-fi", "wlan", "bluetooth", "ethernet", "nic", "network card", "adapter", "router"),
        *("mac地址", "物理地址", "设备", "网卡"),
    ]
)


class MacAddressRecognizer(RuleRecognizer):
    """MAC addresses (DEVICE_ID) at 0.85: six separated pairs with a hex letter anywhere; in digits
    only, or as one run of twelve, next to a device word."""

    entity_type = "DEVICE_ID"
    SCORE = 0.85

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if "DEVICE_ID" not in entities or not _HINT_RE.search(text):
            return []
        results: list[RecognizerResult] = []
        for match in _MAC_RE.finditer(text):
            value = match.group(0)
            plain = match.group("plain")
            if plain is not None and (plain.isdigit() or plain.isalpha()):
                continue  # twelve digits are a number; the other recognizers judge them
            if (
                plain is not None or value.replace(":", "").replace("-", "").isdigit()
            ) and not _DEVICE_WORDS.near(text, match.start(), match.end()):
                continue  # "20:15:30:45:12:00" may be a clock; "20c7512447e3" any hex string
            results.append(RecognizerResult("DEVICE_ID", match.start(), match.end(), self.SCORE))
        return results


_SERIAL_WORDS = (
    *("imei", "imei no", "imei number", "meid", "udid", "device id", "device serial", "serial number"),
    *("serial no", "serial #", "serial num", "implant serial", "序列号", "设备号", "串号", "imei号"),
)
_SERIAL_SHAPE_RE = regex.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|[\-/](?=[A-Za-z0-9])){5,39}(?![A-Za-z0-9@_])")


def _looks_like_serial(value: str) -> bool:
    """A device or serial number: six to forty letters and digits, at least three digits."""
    return letters_and_digits(value, chars=(6, 40), min_digits=3, max_letters=30)


#: IMEI, MEID, UDID, device and serial numbers right after their word.
DEVICE_SERIAL = AfterWord("DEVICE_ID", _SERIAL_WORDS, _SERIAL_SHAPE_RE, _looks_like_serial)
