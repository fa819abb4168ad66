"""The `embedrank` command: `serve` runs the API; `ingest`/`search` come from the Qdrant helper."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any

from service import __version__

logger = logging.getLogger(__name__)

# flag → Settings field; unset flags fall back to the environment / .env / defaults.
SERVE_FLAGS: dict[str, tuple[str, dict[str, Any]]] = {
    "--host": ("host", {"help": "bind address (default 127.0.0.1; 0.0.0.0 for the LAN)"}),
    "--port": ("port", {"type": int, "help": "TCP port (default 9000)"}),
    "--backend": ("backend", {"choices": ["auto", "torch", "mlx", "onnx"], "help": "inference backend"}),
    "--model": ("model_name", {"help": "embedding model: hub id or local folder (default: embedded MiniLM)"}),
    "--mlx-model-path": ("mlx_model_path", {"help": "MLX-format weights for --backend mlx"}),
    "--cross-encoder": ("cross_encoder_model", {"help": "reranker model: hub id or local folder"}),
    "--device": ("device", {"choices": ["auto", "cpu", "cuda", "mps"], "help": "torch device"}),
    "--max-seq-length": ("max_seq_length", {"type": int, "help": "cap on tokens per input"}),
    "--log-level": ("log_level", {"help": "debug, info, warning, error"}),
}


def _serve(args: argparse.Namespace) -> int:
    from service.bind import PortInUse, bind_socket, check_port_free
    from service.config import Settings
    from service.logs import configure_logging

    overrides = {field: getattr(args, field) for field, _ in SERVE_FLAGS.values() if getattr(args, field) is not None}
    settings = Settings(**overrides)
    configure_logging(settings.log_level)
    # Bind first (or, under Ray, prove the port free): a port in use is said within a second, before
    # torch, the app or Ray are even imported.
    try:
        sock = None if args.ray else bind_socket(settings.host, settings.port)
        if args.ray:
            check_port_free(settings.host, settings.port)
    except PortInUse as exc:
        print(f"embedrank: {exc}", file=sys.stderr)
        return 2
    if args.ray:
        from service.ray_serve import run as run_on_ray  # ray is an extra; imported only here

        run_on_ray(settings, args.replicas, num_cpus=args.ray_cpus, num_gpus=args.ray_gpus)
        return 0
    from service.app import create_app
    from service.server import serve

    return serve(create_app(settings), settings, sock)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="embedrank", description="Local-first embedding + reranking server.")
    parser.add_argument("--version", action="version", version=f"embedrank {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP API (settings: flags, then env / .env)")
    for flag, (field, options) in SERVE_FLAGS.items():
        serve.add_argument(flag, dest=field, default=None, **options)
    ray = serve.add_argument_group("Ray Serve (pip install 'embedrank[ray]'; joins RAY_ADDRESS or starts a local Ray)")
    ray.add_argument("--ray", action="store_true", help="serve replicas of the app with Ray Serve")
    ray.add_argument("--replicas", type=int, default=1, help="number of replicas (default 1)")
    ray.add_argument("--ray-cpus", type=float, default=1.0, help="CPUs reserved per replica (default 1)")
    ray.add_argument("--ray-gpus", type=float, default=0.0, help="GPUs reserved per replica (default 0)")
    serve.set_defaults(func=_serve)
    from service.backends.mlx.convert import add_subcommand as add_convert_mlx

    add_convert_mlx(commands)
    try:
        from integrations.qdrant.cli import add_subcommands
    except ImportError as exc:  # the qdrant extra is optional
        logger.debug("ingest/search unavailable: %s", exc)
        for name in ("ingest", "search", "migrate-store"):
            missing = commands.add_parser(name, help=f"{name} with Qdrant (needs: pip install 'embedrank[qdrant]')")
            missing.set_defaults(func=_needs_qdrant_extra)
    else:
        add_subcommands(commands)
    return parser


def _needs_qdrant_extra(args: argparse.Namespace) -> int:
    print("this command needs the Qdrant helper: pip install 'embedrank[qdrant]'", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
