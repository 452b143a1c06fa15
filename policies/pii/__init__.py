"""PII/PHI detection and redaction for the request path.

``analyzer.PIIDetector`` finds personal data (Presidio + spaCy + the project's English/Chinese
recognizers, fully offline); ``redact_body`` applies a role profile's actions to every text field
the model would see. Import from the submodules: this package imports nothing, so loading the
policy documents (``config``) or the detection pool (``offload``) does not load Presidio and spaCy.
"""
