"""The ``sceau`` command: ``sceau serve`` and ``sceau admin ...``."""

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sceau.config import Config, ConfigError, load_config, render_default_config
from sceau.memory import tune_allocator

if TYPE_CHECKING:
    import uvicorn


def _ensure_config(config_path: Path, server_name: str) -> None:
    """Write a commented default config on first start."""
    if config_path.exists():
        return
    config_path.parent.mkdir(parents=True, exist_ok=True)
    config_path.write_text(render_default_config(server_name), encoding="utf-8")
    print(f"Wrote a default configuration to {config_path}", file=sys.stderr)


def _load(args: argparse.Namespace) -> Config:
    config_path = Path(args.config) if args.config else Path(args.data_dir) / "sceau.yaml"
    if not args.config:
        _ensure_config(config_path, args.server_name)
    try:
        return load_config(config_path)
    except ConfigError as exc:
        print(f"sceau: configuration error in {config_path}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def serve(args: argparse.Namespace) -> None:
    from sceau.homeserver import build_app, build_services
    from sceau.services.web_client import startup_line

    config = _load(args)
    tune_allocator()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    async def main() -> None:
        try:
            services = await build_services(config)
        except (OSError, ValueError) as exc:
            print(f"sceau: cannot start: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
        if not await services.stores.db.take_writer_lock():
            print(
                "sceau: another Sceau process is already serving this database; stop it first",
                file=sys.stderr,
            )
            await services.stores.db.close()
            raise SystemExit(2)
        app = build_app(services)
        listener = config.listeners[0]
        servers = [_uvicorn_server(app, listener.bind_address, listener.port)]
        print(
            f"Sceau {config.server_name} listening on http://{listener.bind_address}:{listener.port}/",
            file=sys.stderr,
            flush=True,
        )
        print(startup_line(config), file=sys.stderr, flush=True)
        fed_listener = config.federation.listen
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
        await services.start()
        try:
            await asyncio.gather(*(server.serve() for server in servers))
        finally:
            await services.stop()
            await services.stores.db.close()

    asyncio.run(main())


def _uvicorn_server(
    app: object, host: str, port: int, certfile: str | None = None, keyfile: str | None = None
) -> "uvicorn.Server":
    import uvicorn

    return uvicorn.Server(
        uvicorn.Config(
            app,  # type: ignore[arg-type]
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            server_header=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
            ssl_certfile=certfile,
            ssl_keyfile=keyfile,
        )
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sceau", description="Sceau Matrix homeserver")
    sub = parser.add_subparsers(dest="command", required=True)
    serve_parser = sub.add_parser("serve", help="run the homeserver", parents=[common_options()])
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
        "--server-name", default="localhost", help="server_name for a newly generated config"
    )
    return common


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
