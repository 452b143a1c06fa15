"""Shapes of written dates shared by the date-of-birth recognizer and the stream filter's hold
(a light module: the stream filter must not load the recognizers to know a month's name)."""

from __future__ import annotations

#: Month names and their abbreviations, an abbreviation's dot included; match case-blind.
MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
