"""Street words of Poland, Portugal, Finland, the former Yugoslavia, the Czech Republic, Romania
and Indonesia: type first (plac, R., Jl., Intrarea), a word of its own after the name (kuja, put,
pot), a preposition that opens the name (Pod Výšinkou), a labelled house number (No. 984, Nr. 688)
and a house without a number (S/N)."""

from __future__ import annotations

import pytest

from policies.pii.analyzer import PIIDetector
from tests.unit.pii.heldout_faker_addresses import AddressCase, is_removed


@pytest.mark.parametrize(
    ("text", "address"),
    [
        (
            "Please update the mailing address to plac Kościuszki 12/4, 30-021 Kraków.",
            "plac Kościuszki 12/4, 30-021 Kraków",
        ),
        (
            "Send the card to pl. Grunwaldzki 7, 50-366 Wrocław by courier.",
            "pl. Grunwaldzki 7, 50-366 Wrocław",
        ),
        (
            "Home address:\nR. Almeida Garrett, 14\n4050-062 Porto\nPhone on file.",
            "R. Almeida Garrett, 14\n4050-062 Porto",
        ),
        (
            "The patient lives at Avenida da Liberdade, S/N\n1250-096 Lisboa and needs transport.",
            "Avenida da Liberdade, S/N\n1250-096 Lisboa",
        ),
        ("Home address:\nHämeentien kuja 12\n00530 Helsinki", "Hämeentien kuja 12\n00530 Helsinki"),
        (
            "Send the replacement card to Vukovarski put 3a, 10000 Zagreb by courier.",
            "Vukovarski put 3a, 10000 Zagreb",
        ),
        (
            "The patient lives at Tržaška pot 41, 1000 Ljubljana and needs transport.",
            "Tržaška pot 41, 1000 Ljubljana",
        ),
        ("Home address:\nPod Vinicí 12\n143 00 Praha", "Pod Vinicí 12\n143 00 Praha"),
        (
            "Update the address to Intrarea Florilor Nr. 12 Bl. 3 Sc. 1 Ap. 14, Brașov, 500123.",
            "Intrarea Florilor Nr. 12 Bl. 3 Sc. 1 Ap. 14, Brașov, 500123",
        ),
        (
            "Send the card to Jl. Merdeka No. 45, Bandung, JB 40111 by courier.",
            "Jl. Merdeka No. 45, Bandung, JB 40111",
        ),
        (
            "Home address:\nRonda de Atocha 22 Puerta 3, Madrid, 28012",
            "Ronda de Atocha 22 Puerta 3, Madrid, 28012",
        ),
    ],
)
def test_the_whole_address_is_removed(detector: PIIDetector, text: str, address: str) -> None:
    start = text.index(address)
    assert is_removed(AddressCase("test", text, start, start + len(address)), detector.detect(text))


@pytest.mark.parametrize(
    "text",
    [
        "Na 140, K 4.2, Cl 101, HCO3 24 at 06:00",
        "Pod 3 nurse to review bed 12 after rounds",
        "R. Patel, 55, presented to ED with chest pain",
        "take 2 tabs os 3 times daily",
        "Na lab 2, CA 90210",
        "give S/N 4 vials to ICU",
    ],
)
def test_clinical_shorthand_with_the_same_words_is_no_address(detector: PIIDetector, text: str) -> None:
    assert [f for f in detector.detect(text) if f.entity_type == "LOCATION" and f.score >= 0.5] == []
