"""The ``sceau`` command: ``sceau serve`` and ``sceau admin ...``."""

import argparse
import asyncio
import os
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sceau.config import Config, ConfigError, Listener, load_config, render_default_config
from sceau.logs import configure_server_logging
from sceau.memory import tune_allocator, tune_collector
from sceau.server_name import (
    DEFAULT_SERVER_NAME,
    ServerNameLocked,
    first_start_notice,
    locked_message,
    rewrite_server_name,
)

if TYPE_CHECKING:
    import uvicorn


def _ensure_config(config_path: Path, server_name: str) -> bool:
    """Write a commented default config on first start; True if it did."""
    if config_path.exists():
        return False
    config_path.parent.mkdir(parents=True, exist_ok=True)
    config_path.write_text(render_default_config(server_name), encoding="utf-8")
    return True


def _config_path(args: argparse.Namespace) -> Path:
    return Path(args.config) if args.config else Path(args.data_dir) / "sceau.yaml"


def _load(args: argparse.Namespace) -> Config:
    config_path = _config_path(args)
    created = False
    if not args.config:
        created = _ensure_config(config_path, args.server_name or DEFAULT_SERVER_NAME)
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        print(f"sceau: configuration error in {config_path}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    if created:
        print(first_start_notice(config_path, config.server_name), file=sys.stderr)
    return config


async def apply_server_name(args: argparse.Namespace, config: Config) -> Config:
    """``serve --server-name`` on an existing config: change it, unless users exist."""
    requested = args.server_name
    if not requested or requested == config.server_name:
        return config
    from sceau.homeserver import open_database
    from sceau.storage.accounts import AccountStore

    db = await open_database(config)
    try:
        if await AccountStore(db).any_user():
            raise ServerNameLocked(locked_message(config.server_name, requested))
    finally:
        await db.close()
    config_path = _config_path(args)
    try:
        changed = rewrite_server_name(config_path, config, requested)
    except ConfigError as exc:
        print(f"sceau: cannot set server_name: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    print(
        f"Sceau: server_name changed from {config.server_name!r} to {requested!r} in "
        f"{config_path} (no user existed yet).",
        file=sys.stderr,
    )
    return changed


def _with_port(config: Config, port: int | None) -> Config:
    """``serve --port``: listen there instead of the first listener's port (not saved)."""
    if port is None:
        return config
    first = config.listeners[0]
    listeners = [Listener(bind_address=first.bind_address, port=port), *config.listeners[1:]]
    return config.model_copy(update={"listeners": listeners})


def _worker(args: argparse.Namespace, config: Config) -> tuple[str | None, Config]:
    """``serve --worker NAME``: which instance of ``workers`` this process is, and its listener."""
    instances = config.workers.instances
    if not instances:
        if args.worker:
            print("sceau: --worker needs a 'workers' section in the config", file=sys.stderr)
            raise SystemExit(2)
        return None, config
    if args.worker not in instances:
        names = ", ".join(sorted(instances))
        print(f"sceau: serve needs --worker NAME, one of: {names}", file=sys.stderr)
        raise SystemExit(2)
    instance = instances[args.worker]
    listeners = [Listener(bind_address=instance.bind_address, port=instance.port)]
    return args.worker, config.model_copy(update={"listeners": listeners})


async def _lock(services: Any, worker: str | None) -> bool:
    db = services.stores.db
    if worker is not None:
        return bool(await db.take_worker_lock(worker))
    return bool(await db.take_writer_lock())


def serve(args: argparse.Namespace) -> None:
    from sceau.homeserver import build_app, build_services
    from sceau.services.web_client import startup_line

    config = _load(args)
    tune_allocator()
    access_log = configure_server_logging()

    async def main() -> None:
        nonlocal config
        try:
            config = _with_port(await apply_server_name(args, config), args.port)
        except ServerNameLocked as exc:
            print(str(exc), file=sys.stderr)
            raise SystemExit(2) from None
        worker, config = _worker(args, config)
        try:
            services = await build_services(config, worker=worker)
        except (OSError, ValueError, TimeoutError) as exc:
            print(f"sceau: cannot start: {exc or 'Redis did not answer'}", file=sys.stderr)
            raise SystemExit(2) from None
        if not await _lock(services, worker):
            what = f"worker {worker!r}" if worker else "another Sceau process"
            print(
                f"sceau: {what} is already serving this database; stop it first",
                file=sys.stderr,
            )
            await services.stores.db.close()
            raise SystemExit(2)
        app = build_app(services, access_log)
        listener = config.listeners[0]
        servers = [_uvicorn_server(app, listener.bind_address, listener.port)]
        metrics_server = _metrics_server(config, services.metrics.registry)
        metrics_task = asyncio.create_task(metrics_server.serve()) if metrics_server else None
        print(
            f"Sceau {config.server_name} listening on http://{listener.bind_address}:{listener.port}/",
            file=sys.stderr,
            flush=True,
        )
        print(startup_line(config), file=sys.stderr, flush=True)
        _print_where(config)
        fed_listener = config.federation.listen
        if worker is not None and worker != config.workers.main_name():
            fed_listener = None  # one address for other servers: main's (docs/deployment.md)
        if fed_listener is not None:
            servers.append(
                _uvicorn_server(
                    app,
                    fed_listener.bind_address,
                    fed_listener.port,
                    certfile=str(config.resolve_path(fed_listener.tls_certificate_path)),
                    keyfile=str(config.resolve_path(fed_listener.tls_private_key_path)),
                )
            )
            print(
                f"Federation listening on https://{fed_listener.bind_address}:{fed_listener.port}/",
                file=sys.stderr,
                flush=True,
            )
        if worker is not None:
            servers.append(_replication_server(config, worker, services))
        await services.start()
        tune_collector()
        try:
            await asyncio.gather(*(server.serve() for server in servers))
        finally:
            if metrics_server is not None and metrics_task is not None:
                metrics_server.should_exit = True
                await metrics_task
            await services.stop()
            await services.stores.db.close()
            access_log.flush()

    run_event_loop(main())


def run_event_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run the server on uvloop when it is installed (it comes with ``uvicorn[standard]``).

    uvloop's transports and loop are C: a woken long-poll costs about a tenth
    less CPU, which is what bounds one process's fan-out (issue 14).
    ``SCEAU_EVENT_LOOP=asyncio`` keeps the standard loop, e.g. to profile it.
    """
    loop_factory = None
    if os.environ.get("SCEAU_EVENT_LOOP", "uvloop") == "uvloop":
        try:
            import uvloop

            loop_factory = uvloop.new_event_loop
        except ImportError:
            pass
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(main)


def _replication_server(config: Config, worker: str, services: Any) -> "uvicorn.Server":
    """The private listener other workers forward this one's rooms' sends to."""
    from sceau.cluster.replication import replication_app

    instance = config.workers.instances[worker]
    app = replication_app(
        services.events,
        config.workers.replication_secret or "",
        remote_rooms=services.federation_rooms.remote_rooms,
        countersign_invite=services.rooms.invite_countersigner(),
    )
    return _uvicorn_server(app, instance.bind_address, instance.replication_port)


def _uvicorn_server(
    app: object, host: str, port: int, certfile: str | None = None, keyfile: str | None = None
) -> "uvicorn.Server":
    import uvicorn

    from sceau.http.coalescing import CoalescingHttpToolsProtocol

    return uvicorn.Server(
        uvicorn.Config(
            app,  # type: ignore[arg-type]
            host=host,
            port=port,
            http=CoalescingHttpToolsProtocol,
            log_level="warning",
            access_log=False,
            server_header=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
            ssl_certfile=certfile,
            ssl_keyfile=keyfile,
        )
    )


def _print_where(config: Config) -> None:
    """Where the health check, metrics and logs are: an admin's first questions."""
    listener = config.listeners[0]
    lines = [f"  health: http://{listener.bind_address}:{listener.port}/health"]
    if config.metrics.enabled:
        lines.append(
            f"  metrics: http://{config.metrics.bind_address}:{config.metrics.port}/metrics"
        )
    else:
        lines.append("  metrics: off (metrics.enabled in the config)")
    access = "on" if config.logging.access_log else "off (logging.access_log)"
    lines.append(f"  logs: this standard error; access log {access}")
    print("\n".join(lines), file=sys.stderr, flush=True)


def _metrics_server(config: Config, registry: Any) -> "uvicorn.Server | None":
    """A second uvicorn server for /metrics, on its own address, when enabled."""
    if not config.metrics.enabled:
        return None
    import contextlib

    import uvicorn
    from prometheus_client import make_asgi_app

    class MetricsServer(uvicorn.Server):
        # The main server owns SIGINT/SIGTERM; this one stops when told to.
        @contextlib.contextmanager
        def capture_signals(self):  # type: ignore[no-untyped-def]
            yield

    return MetricsServer(
        uvicorn.Config(
            make_asgi_app(registry=registry),
            host=config.metrics.bind_address,
            port=config.metrics.port,
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sceau", description="Sceau Matrix homeserver")
    sub = parser.add_subparsers(dest="command", required=True)
    serve_parser = sub.add_parser("serve", help="run the homeserver", parents=[common_options()])
    serve_parser.add_argument(
        "--port", type=int, help="listen on this port instead of the config's (not saved)"
    )
    serve_parser.add_argument(
        "--worker", help="run as this instance of the config's 'workers' section"
    )
    serve_parser.set_defaults(func=serve)
    try:
        from sceau.admin_cli import add_admin_commands
    except ImportError:
        pass
    else:
        add_admin_commands(sub, common_options, _load)
    return parser


def common_options() -> argparse.ArgumentParser:
    """Options every sub-command takes: where the config and data live."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config", help="config file (default: DATA_DIR/sceau.yaml, created if missing)"
    )
    common.add_argument("--data-dir", default="data", help="data folder (default: ./data)")
    common.add_argument(
        "--server-name",
        help=(
            "server_name for a newly generated config (default: localhost); "
            "with serve, changes an existing one while no user exists yet"
        ),
    )
    return common


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
