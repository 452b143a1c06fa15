"""French addresses: a comma after the house number ("11, rue Guillon"), and a type-first street
without a number confirmed by its postal code and city ("chemin Lévy / 47587 Thomas")."""

from __future__ import annotations

import pytest

from policies.pii.analyzer import PIIDetector
from tests.unit.pii.heldout_faker_addresses import AddressCase, is_removed


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("Please update the address to 11, rue Guillon, 10789 Troyes.", "11, rue Guillon, 10789 Troyes"),
        (
            "Home address:\n9, boulevard Monnier\n80241 Amiens\nPhone on file.",
            "9, boulevard Monnier\n80241 Amiens",
        ),
        ("The patient lives at chemin Lévy\n47587 Agen and needs transport.", "chemin Lévy\n47587 Agen"),
        (
            "Send it to 4970 Vitolina Rue Apt. 940, Lake Heron, WY 73664.",
            "4970 Vitolina Rue Apt. 940, Lake Heron, WY 73664",
        ),
    ],
)
def test_the_whole_address_is_removed(detector: PIIDetector, text: str, address: str) -> None:
    start = text.index(address)
    assert is_removed(AddressCase("test", text, start, start + len(address)), detector.detect(text))


@pytest.mark.parametrize(
    "text",
    [
        "La rue Victor Hugo est fermée ce matin.",
        "En 2019, rue de la Paix était fermée.",
        "Chemin clinique: patient vu au service, 2 comprimés le matin.",
    ],
)
def test_a_street_without_number_or_tail_is_no_address(detector: PIIDetector, text: str) -> None:
    assert [f for f in detector.detect(text) if f.entity_type == "LOCATION" and f.score >= 0.5] == []
