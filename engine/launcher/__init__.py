"""The SGLang launcher: read the GPUs (``inventory``), describe the checkpoint (``checkpoint``),
decide how to run it (``plan``: a pure function, with one explanation line per choice), build the
``python -m sglang.launch_server`` command (``command``) and keep the process alive
(``supervisor``). ``gateway engine launch`` and ``gateway engine command`` are its front end;
docs/engine.md says what each decision means.
"""
