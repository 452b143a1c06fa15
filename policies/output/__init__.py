"""Output policy: the streaming answer filter (pseudonym restoration, leaked-PII redaction, content
rules and secrets) and input-side prompt-injection screening. Pure logic, no HTTP."""
