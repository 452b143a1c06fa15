"""The documented OpenAI request bodies stay in step with what gateway.validation checks."""

from __future__ import annotations

import msgspec
import pytest

from gateway.openai_schemas import ChatCompletionRequest, CompletionRequest, request_schema
from gateway.validation import ChatRequestView, CompletionRequestView


@pytest.mark.parametrize(
    ("documented", "checked"),
    [(ChatCompletionRequest, ChatRequestView), (CompletionRequest, CompletionRequestView)],
)
def test_every_field_the_gateway_checks_is_documented(
    documented: type[msgspec.Struct], checked: type[msgspec.Struct]
) -> None:
    schema = request_schema(documented)
    checked_fields = {field.encode_name for field in msgspec.structs.fields(checked)}
    required = {field.encode_name for field in msgspec.structs.fields(checked) if field.required}
    assert schema.properties is not None and checked_fields <= set(schema.properties)
    assert set(schema.required or ()) == required


def test_request_schema_is_inline_and_keeps_constraints() -> None:
    document = request_schema(ChatCompletionRequest).to_schema()
    assert "$ref" not in str(document)  # nested Structs are inlined, nothing dangles
    assert document["properties"]["n"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 16,
        "description": "Number of choices.",
        "default": 1,
    }
    assert document["properties"]["messages"]["minItems"] == 1
