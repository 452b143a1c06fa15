"""Street types of Spain, Mexico, Italy and Brazil that are also everyday words: type first, then an
address only with its tail (postal code, unit, region) or an address word."""

from __future__ import annotations

import pytest

from policies.pii.analyzer import PIIDetector
from tests.unit.pii.heldout_faker_addresses import AddressCase, is_removed


@pytest.mark.parametrize(
    ("text", "address"),
    [
        (
            "Home address:\nCerrada Covarrubias 171 Interior 388\nCentro, YUC 97239-3519",
            "Cerrada Covarrubias 171 Interior 388\nCentro, YUC 97239-3519",
        ),
        (
            "Send the card to Privada Albania 488 Edif. 214, Depto. 734, Puebla, PUE 72000.",
            "Privada Albania 488 Edif. 214, Depto. 734, Puebla, PUE 72000",
        ),
        (
            "The patient lives at Borgo Galiazzo, 92\n38088, Spiazzo (TN) with her son.",
            "Borgo Galiazzo, 92\n38088, Spiazzo (TN)",
        ),
        (
            "Mailing address: Rua Moura, Centro, 60133-307 Fortaleza / CE",
            "Rua Moura, Centro, 60133-307 Fortaleza / CE",
        ),
        ("Update it to Ronda de Toledo 46, Madrid, 28005.", "Ronda de Toledo 46, Madrid, 28005"),
    ],
)
def test_the_whole_address_is_removed(detector: PIIDetector, text: str, address: str) -> None:
    start = text.index(address)
    assert is_removed(AddressCase("test", text, start, start + len(address)), detector.detect(text))


@pytest.mark.parametrize(
    "text",
    [
        "La Diagonal 3 del protocolo indica reposo; la puerta Cerrada 2 veces al día.",
        "Parque 5 minutos y subo a la consulta.",
        "Interior 520 of the tablet box is damaged; BP 120/80 / HR 72.",
    ],
)
def test_everyday_words_without_a_tail_are_no_address(detector: PIIDetector, text: str) -> None:
    assert [f for f in detector.detect(text) if f.entity_type == "LOCATION" and f.score >= 0.5] == []
