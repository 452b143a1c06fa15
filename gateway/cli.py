"""The ``gateway`` command line (its forms are a contract: scripts, tests and deploy files rely on them).

Every command takes ``--config FILE`` and ``--data-dir DIR``; flags override the environment,
which overrides the file. ``--json`` prints machine-readable results.

Module-level imports stay light (standard library, msgspec, settings): the server, the simulator,
Presidio and spaCy load inside the commands that use them, so ``gateway --help`` and
``gateway keys ...`` start quickly.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec

from gateway.settings import ConfigError, Settings, load_settings

Handler = Callable[[argparse.Namespace, Settings], int]


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="TOML configuration file")
    parser.add_argument("--data-dir", help="data directory (default ./var)")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def _settings(args: argparse.Namespace, overrides: dict[str, Any] | None = None) -> Settings:
    tree: dict[str, Any] = dict(overrides or {})
    if getattr(args, "data_dir", None):
        tree["data_dir"] = args.data_dir
    return load_settings(getattr(args, "config", None), overrides=tree)


def _print(args: argparse.Namespace, data: Any, text: str) -> None:
    if getattr(args, "json", False):
        print(json.dumps(data, default=str))
    else:
        print(text)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for_http(url: str, timeout_s: float = 30.0, process: subprocess.Popen[bytes] | None = None) -> None:
    """Return once ``url`` answers below 500; RuntimeError if ``process`` exits or time runs out."""
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before {url} answered")
        try:
            if httpx.get(url, timeout=1.0, trust_env=False).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout_s:.0f} s")


@contextmanager
def run_simulator_process(port: int, extra: Sequence[str] = ()) -> Iterator[str]:
    """Start the SGLang simulator as a child process; yields its base URL and stops it on exit."""
    from engine.simulator import PARENT_PID_ENV

    command = [sys.executable, "-m", "engine.simulator", "--port", str(port), *extra]
    env = {**os.environ, PARENT_PID_ENV: str(os.getpid())}
    process = subprocess.Popen(command, env=env)  # noqa: S603 - our own module, fixed arguments
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(url + "/health", process=process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


# ----------------------------------------------------------------------------- serve / demo


class PortUnavailable(Exception):
    """The gateway's own listening address could not be bound."""


def bind_listener(host: str, port: int) -> socket.socket:
    """Bind and listen on ``host:port`` as uvicorn would; PortUnavailable when it is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on accepted sockets whose protocol says TCP,
    # and without it small answers wait for the client's delayed ACK (about 40 ms a request).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        # Listening now holds the port: nothing can take it between here and serving.
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise PortUnavailable(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def listener_url(sock: socket.socket) -> str:
    """``http://host:port`` of a bound socket (the port actually bound, if 0 was asked for)."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if sock.family == socket.AF_INET6 else f"http://{host}:{port}"


def local_url(sock: socket.socket) -> str:
    """A URL this machine can use to reach ``sock`` (the loopback when bound to every interface)."""
    host, port = sock.getsockname()[:2]
    if sock.family == socket.AF_INET6:
        return f"http://[{'::1' if host == '::' else host}]:{port}"
    return f"http://{'127.0.0.1' if host == '0.0.0.0' else host}:{port}"


def configured_url(settings: Settings) -> str:
    """``http://host:port`` from the server settings (before anything is bound)."""
    host = settings.server.host
    return (
        f"http://[{host}]:{settings.server.port}" if ":" in host else f"http://{host}:{settings.server.port}"
    )


def _bind_or_report(settings: Settings) -> socket.socket | None:
    try:
        return bind_listener(settings.server.host, settings.server.port)
    except PortUnavailable as exc:
        print(f"error: {exc}. Is another gateway running? Choose another port with --port.", file=sys.stderr)
        return None


def cmd_serve(args: argparse.Namespace, _settings_unused: Settings) -> int:
    overrides: dict[str, Any] = {
        "server": {"host": args.host, "port": args.port, "workers": args.workers},
        "engine": {"api_key": args.engine_api_key},
        "policy": {"dir": args.policy_dir},
    }
    if args.engine_url:
        overrides["engine"]["urls"] = list(args.engine_url)
    settings = _settings(args, overrides)
    sock: socket.socket | None = None
    if settings.server.workers == 1:
        sock = _bind_or_report(settings)
        if sock is None:
            return 1
    if settings.uses_simulator:
        port = settings.engine.sim_port or free_port()
        extra = ["--ttft-ms", str(settings.engine.sim_ttft_ms), "--tpot-ms", str(settings.engine.sim_tpot_ms)]
        if settings.engine.api_key:
            from engine.launcher.command import api_key_arg

            extra.append(api_key_arg(settings.engine.api_key))  # one argument: a key may start with "-"
        gateway_url = listener_url(sock) if sock is not None else configured_url(settings)
        print(
            f"*** Gateway on {gateway_url}. No engine URL configured: starting the SGLang SIMULATOR "
            f"(echo mode) on port {port}. It is a test and demo stand-in, NOT a model. Set engine.urls "
            "or --engine-url to use a real SGLang server. ***",
            file=sys.stderr,
            flush=True,
        )
        with run_simulator_process(port, extra) as url:
            settings = msgspec.structs.replace(
                settings, engine=msgspec.structs.replace(settings.engine, urls=(url,))
            )
            return _run_server(settings, sock, simulated=True)
    return _run_server(settings, sock, simulated=False)


OnStarted = Callable[[str], Awaitable[bool]]


def _run_on_uvloop(main: Coroutine[Any, Any, int]) -> int:
    """Run the server on uvloop when it is installed, as uvicorn's ``loop="auto"`` would (the
    pre-bound listener is served with our own event loop, which uvicorn does not choose)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


def _run_server(
    settings: Settings,
    sock: socket.socket | None,
    *,
    simulated: bool,
    on_started: OnStarted | None = None,
) -> int:
    """Serve until stopped; ``sock`` is the bound listener (None: ``server.workers`` processes).

    ``on_started`` gets the gateway's local URL once it serves; returning False stops the gateway
    and the command exits with status 1.
    """
    import structlog
    import uvicorn

    from gateway.http_protocol import GatewayHttpProtocol
    from gateway.logging import configure_logging

    configure_logging(settings.logging.level)
    log = structlog.get_logger("gateway.cli")
    if hasattr(signal, "SIGPIPE"):
        # `python -m gateway.cli` restores SIGPIPE's default (death) for piped CLI output; a server
        # must instead see EPIPE when it writes to a client that has gone, and carry on.
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    options: dict[str, Any] = {
        "host": settings.server.host,
        "port": settings.server.port,
        "log_level": "warning",
        "access_log": False,
        "lifespan": "on",
        "timeout_graceful_shutdown": 10,
        # httptools, with refusals of its own in the OpenAI error shape and a bounded head.
        "http": GatewayHttpProtocol,
    }
    if sock is None:
        # Each worker process builds its own app from the same validated settings.
        from gateway.asgi import SETTINGS_ENV, SIMULATED_ENV

        os.environ[SETTINGS_ENV] = msgspec.json.encode(settings).decode()
        os.environ[SIMULATED_ENV] = "1" if simulated else ""
        log.info("gateway.listening", url=configured_url(settings), workers=settings.server.workers)
        uvicorn.run("gateway.asgi:create", factory=True, workers=settings.server.workers, **options)
        return 0
    from gateway.app import create_app

    class Server(uvicorn.Server):
        """uvicorn's server, telling when its startup (the app's lifespan included) is over."""

        def __init__(self, config: uvicorn.Config) -> None:
            super().__init__(config)
            self.startup_over = asyncio.Event()

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            try:
                await super().startup(sockets=sockets)
            finally:
                self.startup_over.set()

    app = create_app(settings, simulated_engine=simulated)
    server = Server(uvicorn.Config(app, **options))
    listener = sock

    async def serve() -> int:
        serving = asyncio.create_task(server.serve(sockets=[listener]))
        started = asyncio.create_task(server.startup_over.wait())
        await asyncio.wait({started, serving}, return_when=asyncio.FIRST_COMPLETED)
        started.cancel()
        if not server.started:
            await serving
            return 1
        # stderr is JSON lines: the address is an event like the others.
        log.info("gateway.listening", url=listener_url(listener), workers=1)
        status = 0
        if on_started is not None:
            watcher = asyncio.ensure_future(on_started(local_url(listener)))
            await asyncio.wait({watcher, serving}, return_when=asyncio.FIRST_COMPLETED)
            if not watcher.done():  # stopped (Ctrl-C) before on_started finished
                watcher.cancel()
            elif (failure := watcher.exception()) is not None or not watcher.result():
                if failure is not None:
                    print(f"error: {type(failure).__name__}: {failure}", file=sys.stderr)
                server.should_exit = True
                status = 1
        await serving
        return status

    try:
        with listener:
            return _run_on_uvloop(serve())
    except KeyboardInterrupt:
        return 0


async def wait_ready(url: str, timeout_s: float) -> bool:
    """True once ``url``/readyz answers 200, False if it has not within ``timeout_s``."""
    import httpx

    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(trust_env=False, timeout=2.0) as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(url + "/readyz")).status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    return False


DEMO_READY_TIMEOUT_S = 60.0


def cmd_demo(args: argparse.Namespace, _unused: Settings) -> int:
    from gateway.auth.cli import create_key_sync

    overrides: dict[str, Any] = {"server": {"workers": 1}}
    if args.port is not None:
        overrides["server"]["port"] = args.port
    settings = _settings(args, overrides)
    # The port first: a demo that cannot serve must not leave a working key behind.
    sock = _bind_or_report(settings)
    if sock is None:
        return 1
    with run_simulator_process(free_port()) as sim_url:
        settings = msgspec.structs.replace(
            settings, engine=msgspec.structs.replace(settings.engine, urls=(sim_url,))
        )

        async def mint_key_when_ready(base: str) -> bool:
            if not await wait_ready(base, DEMO_READY_TIMEOUT_S):
                print(
                    f"error: the gateway on {base} did not become ready; no key was created.",
                    file=sys.stderr,
                )
                return False
            created = await asyncio.to_thread(
                create_key_sync,
                settings,
                name="demo-clinician",
                roles=["clinician"],
                tenant=None,
                expires="1d",
                models=None,
            )
            print(demo_banner(base, sim_url, created["key"]), flush=True)
            return True

        return _run_server(settings, sock, simulated=True, on_started=mint_key_when_ready)


def demo_banner(base: str, sim_url: str, key: str) -> str:
    """What ``gateway demo`` prints once its gateway is ready: the key, a curl and an SDK example."""
    example = json.dumps(
        {
            "model": "deepseek-ai/DeepSeek-V3",
            "messages": [
                {
                    "role": "user",
                    "content": "Patient John Smith, phone 415-555-0132, on Metformin 500 mg.",
                }
            ],
        }
    )
    # The interpreter running this command has the openai SDK; a bare `python` may not.
    python = shlex.quote(sys.executable)
    return f"""
Demo: gateway on {base}, SGLang SIMULATOR (echo mode) on {sim_url} -- not a real model.
A dev key for role 'clinician' (valid 1 day): {key}

curl {base}/v1/chat/completions -H "Authorization: Bearer {key}" \\
  -H "Content-Type: application/json" -H "X-Data-Subject: patient-0001" \\
  -d '{example}'

{python} - <<'EOF'
from openai import OpenAI
client = OpenAI(base_url="{base}/v1", api_key="{key}", default_headers={{"X-Data-Subject": "patient-0001"}})
answer = client.chat.completions.create(model="deepseek-ai/DeepSeek-V3",
    messages=[{{"role": "user", "content": "Call Jane Doe at jane.doe@example.org"}}])
print(answer.choices[0].message.content)
EOF
(The simulator echoes what the model saw: names and numbers arrive as [PERSON_1]-style tokens,
and the gateway restores them for the clinician role.) Ctrl-C stops both.
"""


def cmd_engine_sim(args: argparse.Namespace, _unused: Settings) -> int:
    from engine.simulator import config_from_args, run_simulator

    try:
        config = config_from_args(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    run_simulator(config)
    return 0


# ----------------------------------------------------------------------------- policy


def cmd_policy_check(args: argparse.Namespace, _unused: Settings) -> int:
    from policies.bundle import check_policy_file

    errors = check_policy_file(Path(args.file))
    _print(
        args,
        {"file": args.file, "ok": not errors, "errors": errors},
        "\n".join(errors) if errors else f"{args.file}: OK",
    )
    return 1 if errors else 0


# ----------------------------------------------------------------------------- main


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gateway", description="Compliance gateway for self-hosted LLMs")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the gateway")
    _common(serve)
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--engine-url", action="append", help="SGLang worker URL (repeatable)")
    serve.add_argument("--engine-api-key")
    serve.add_argument("--policy-dir")
    serve.add_argument("--workers", type=int, help="gateway processes sharing the port (default 1)")
    serve.set_defaults(handler=cmd_serve)

    demo = sub.add_parser("demo", help="simulator + gateway + printed examples")
    _common(demo)
    demo.add_argument("--port", type=int)
    demo.set_defaults(handler=cmd_demo)

    engine = sub.add_parser("engine", help="SGLang engine tools").add_subparsers(
        dest="engine_command", required=True
    )
    sim = engine.add_parser("sim", help="run the SGLang simulator (tests and benchmarks only)")
    # Light: the simulator's flags come without its web framework (that loads in cmd_engine_sim).
    from engine.simulator import add_sim_arguments

    add_sim_arguments(sim)
    sim.add_argument("--config", help=argparse.SUPPRESS)
    sim.add_argument("--data-dir", help=argparse.SUPPRESS)
    sim.set_defaults(handler=cmd_engine_sim, no_settings=True)
    from gateway.engine_cli import register as register_engine
    from gateway.engine_status_cli import register as register_engine_status

    register_engine(engine, _common)
    register_engine_status(engine, _common)

    policy = sub.add_parser("policy", help="policy documents").add_subparsers(
        dest="policy_command", required=True
    )
    check = policy.add_parser("check", help="validate a policy YAML file")
    _common(check)
    check.add_argument("file")
    check.set_defaults(handler=cmd_policy_check, no_settings=True)

    from gateway.audit_cli import register as register_audit
    from gateway.auth.cli import register as register_keys
    from gateway.dsr_cli import register as register_dsr
    from gateway.retention_cli import register as register_retention

    register_keys(sub, _common)
    register_audit(sub, _common)
    register_dsr(sub, _common)
    register_retention(sub, _common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from gateway.logging import configure_logging

    configure_logging("warning")  # CLI logs go to stderr as JSON; stdout is for results only
    try:
        settings = Settings() if getattr(args, "no_settings", False) else _settings(args)
        handler: Handler = args.handler
        return handler(args, settings)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.exit(main())
