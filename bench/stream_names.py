"""Names in streamed answers (``pii.stream_names``) against the same text detected whole.

Every sentence of ``tests.unit.pii.names_heldout`` (names from the shipped lists, from the tenth
held out of them, and of many origins; title case, capitals, lower case, digits for letters) is
streamed through the output filter as the gateway builds it by default, cut as a model's tokens
come (a word with its leading space, some words in two pieces), and a name counts as redacted
when none of its words comes out. Beside it: the whole text through ``PIIDetector.detect`` (as a
non-streaming answer is filtered) and through the name rules alone. Also the clinical and banking
sentences without a name that got a person redaction.

    .venv/bin/python -m bench.stream_names [--seed 31337] [--per-class 25]
"""

from __future__ import annotations

import argparse
import collections
import random
import re

from policies.bundle import DEFAULT_POLICY_DIR, read_document
from policies.output.config import compile_rules_for_role, parse_output_policy
from policies.output.name_runs import PARTICLES
from policies.output.stream_filter import StreamFilter
from policies.pii.analyzer import PIIDetector
from policies.pii.config import load_default_pii_policy
from tests.unit.pii import names_heldout

_WORD_RE = re.compile(r"[^\W\d_]{2,}")
_PIECE_RE = re.compile(r"\s*\S+")


def model_pieces(text: str, rng: random.Random) -> list[str]:
    """``text`` in pieces as a model streams it: each word with its leading space, some in two."""
    pieces: list[str] = []
    for match in _PIECE_RE.finditer(text):
        piece = match.group()
        if len(piece) > 5 and rng.random() < 0.4:
            cut = rng.randrange(2, len(piece) - 1)
            pieces += [piece[:cut], piece[cut:]]
        else:
            pieces.append(piece)
    return pieces


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=31337)
    parser.add_argument("--per-class", type=int, default=25)
    args = parser.parse_args()
    doc, _ = read_document(DEFAULT_POLICY_DIR / "output.yaml")
    rules = compile_rules_for_role(parse_output_policy(doc, "output.yaml"), ["analyst"])
    detector = PIIDetector(load_default_pii_policy(), b"k" * 32, 0)
    rng = random.Random(args.seed)

    def stream(text: str) -> str:
        filt = StreamFilter(
            rules,
            None,
            detector=detector.detect_identifiers,
            max_entity_len=detector.max_pattern_length,
            name_detector=detector.detect_names_by_rules,
            name_holds="run",
        )
        out = [filt.feed("0.content", piece).text for piece in model_pieces(text, rng)]
        return "".join(out) + filt.finish("0.content").text

    table: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0, 0, 0])
    for case in names_heldout.generate(args.per_class, args.seed):
        out = stream(case.text)
        words = [w for w in _WORD_RE.findall(case.value) if w.lower() not in PARTICLES]
        row = table[case.casing]
        row[0] += not any(word in out for word in words)
        row[1] += names_heldout.is_found(case, detector.detect(case.text), 0.5)
        row[2] += names_heldout.is_found(case, detector.detect_names_by_rules(case.text), 0.5)
        row[3] += 1
    print(f"seed {args.seed}, {args.per_class} sentences per source and casing")
    print("| casing | streamed, redacted | whole answer (detect) | whole, name rules alone |")
    print("| --- | --- | --- | --- |")
    for casing in names_heldout.CASINGS:
        streamed, whole, rules_only, total = table[casing]
        print(f"| {casing} | {streamed}/{total} | {whole}/{total} | {rules_only}/{total} |")
    negatives = names_heldout.negatives(random.Random(args.seed), 300)
    negatives += names_heldout.fresh_negatives(random.Random(args.seed), 300)
    streamed_fp = sum("[REDACTED_PERSON]" in stream(n.text) for n in negatives)
    whole_fp = sum(any(f.entity_type == "PERSON" for f in detector.detect(n.text)) for n in negatives)
    print(
        "sentences without a name given a person redaction: "
        f"streamed {streamed_fp}, whole {whole_fp}, of {len(negatives)}"
    )


if __name__ == "__main__":
    main()
