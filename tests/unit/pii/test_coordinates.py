"""Geographic coordinates are LOCATION; temperatures, angles of joints and lab values are not."""

from __future__ import annotations

import pytest

from policies.pii.analyzer import PIIDetector
from tests.unit.pii.found import found_as


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("Check activity near this location: 37.7749° N, 122.4194° W.", ["37.7749° N", "122.4194° W"]),
        ("found at 40°26'46\"N 79°58'56\"W by the ambulance", ["40°26'46\"N", "79°58'56\"W"]),
        ("N 48.8584, E 2.2945", ["N 48.8584", "E 2.2945"]),
        ("GPS: 51.5007, -0.1246 last night", ["51.5007, -0.1246"]),
        ("lat 35.6895 long 139.6917", ["35.6895", "139.6917"]),
        ("患者定位 纬度:31.2304 经度:121.4737", ["31.2304", "121.4737"]),
        ("pickup at -33.8688°, 151.2093°", ["-33.8688°", "151.2093°"]),
    ],
)
def test_coordinates_are_locations(detector: PIIDetector, text: str, values: list[str]) -> None:
    assert found_as(detector, text, "LOCATION") == values


@pytest.mark.parametrize(
    "text",
    [
        "Temp 37.8°C, HR 96, SpO2 98%",
        "Temperature 98.6 °F orally",
        "Temp 38.25 °C at 02:00",
        "Flexion to 90° and 45.5° extension",
        "pH 7.35, pCO2 45.2, lactate 2.1",
        "INR 2.35 on 3.125 mg",
        "Results 51.5007, 0.1246 in the assay",  # a pair without a coordinate word
        "long 3.5 hour shift",  # one decimal
        "Vitamin D 45.25 nmol/L, calcium 2.375 mmol/L",
    ],
)
def test_clinical_values_are_not_coordinates(detector: PIIDetector, text: str) -> None:
    assert found_as(detector, text, "LOCATION") == []
