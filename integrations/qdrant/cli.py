"""`embedrank ingest`, `search` and `migrate-store`: argument parsing and human/JSON output over the Python API."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

DEFAULT_COLLECTION = "embedrank"


def add_subcommands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register `ingest`, `search` and `migrate-store`; each sets `func(args) -> int`. Imports stay lazy so the
    main CLI works without the qdrant extra installed."""
    ingest = subparsers.add_parser(
        "ingest",
        help="chunk, embed and store files (.md .txt .html .pdf .jsonl) in a Qdrant collection",
        description="Walk files and folders, embed their chunks through the running service and upsert "
        "them into Qdrant. Unchanged files are skipped; changed files replace their chunks.",
    )
    ingest.add_argument("paths", nargs="+", metavar="PATH", help="files and/or folders to ingest")
    _common(ingest)
    ingest.add_argument(
        "--layout",
        choices=["openwebui", "n8n", "langchain"],
        default="openwebui",
        help="payload keys: text / content / page_content, plus metadata{...} (default: openwebui)",
    )
    ingest.add_argument("--chunk-tokens", type=int, default=200, help="chunk size in tokens (default 200)")
    ingest.add_argument("--overlap", type=int, default=30, help="overlap between chunks in tokens (default 30)")
    ingest.add_argument("--batch-size", type=int, default=32, help="texts per /embed request (default 32)")
    ingest.add_argument("--jsonl-field", default="text", help="JSONL field holding the text (default 'text')")
    ingest.add_argument("--force", action="store_true", help="re-embed files even when unchanged")
    ingest.add_argument(
        "--prune",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="delete the chunks of files that are gone from the given folders (default on; --no-prune only "
        "lists them in the summary)",
    )
    ingest.add_argument(
        "--optimize",
        action="store_true",
        help="build the HNSW index when done (embedded store; minutes at 100k chunks, search is fast without)",
    )
    ingest.add_argument("--no-progress", action="store_true", help="no progress bar")
    ingest.add_argument(
        "--ray",
        action="store_true",
        help="embed on a Ray cluster (RAY_ADDRESS, or a local one) with the model of the service's settings "
        "(MODEL_NAME etc. from env/.env) in-process; --service-url is not used (needs embedrank[ray])",
    )
    ingest.add_argument("--ray-actors", type=int, default=2, help="--ray: embedding actors (default 2)")
    ingest.add_argument("--ray-cpus", type=float, default=1.0, help="--ray: CPUs per actor (default 1)")
    ingest.add_argument("--ray-gpus", type=float, default=0.0, help="--ray: GPUs per actor (default 0)")
    ingest.add_argument("--json", action="store_true", help="print the summary as JSON")
    ingest.set_defaults(func=run_ingest)

    search = subparsers.add_parser(
        "search",
        help="ask a question against an ingested collection (hybrid dense + BM25 search, then rerank)",
        description="Fetch candidates by meaning (dense), by keywords (BM25) or both fused (hybrid, the "
        "default), then rerank them via the service's /rerank.",
    )
    search.add_argument("query", help="the question")
    _common(search)
    search.add_argument(
        "--mode",
        choices=["dense", "bm25", "hybrid"],
        default="hybrid",
        help="dense (meaning), bm25 (exact words: identifiers, error codes) or hybrid (both, RRF; default)",
    )
    search.add_argument("--top-k", type=int, default=5, help="results to show (default 5)")
    search.add_argument(
        "--rerank", action=argparse.BooleanOptionalAction, default=True, help="rerank candidates (default on)"
    )
    search.add_argument("--candidates", type=int, default=50, help="candidates fetched for reranking (50)")
    search.add_argument("--snippet-chars", type=int, default=100, help="snippet width in the table (100)")
    search.add_argument("--json", action="store_true", help="print results as JSON")
    search.set_defaults(func=run_search)

    migrate = subparsers.add_parser(
        "migrate-store",
        help="convert an old embedded store (qdrant-client local mode) into Qdrant Edge",
        description="Copy every collection of a qdrant-client local-mode folder into Qdrant Edge shards in the "
        "same folder (same ids, payloads and vectors, plus BM25 vectors); the old files move to "
        "<folder>/local-mode-backup.",
    )
    migrate.add_argument("--qdrant-path", default=_default_path(), help="the folder (default ./qdrant_data)")
    migrate.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    migrate.set_defaults(func=run_migrate)


def _common(parser: argparse.ArgumentParser) -> None:
    env = os.environ.get
    parser.add_argument("--collection", default=env("EMBEDRANK_COLLECTION", DEFAULT_COLLECTION), help="collection name")
    parser.add_argument(
        "--service-url",
        default=env("EMBEDRANK_SERVICE_URL", "http://localhost:9000"),
        help="embedrank service (default http://localhost:9000, env EMBEDRANK_SERVICE_URL)",
    )
    parser.add_argument("--api-key", default=env("EMBEDRANK_API_KEY"), help="service API key (env EMBEDRANK_API_KEY)")
    parser.add_argument(
        "--qdrant-path",
        default=_default_path(),
        help="embedded store folder, Qdrant Edge (default ./qdrant_data, env QDRANT_PATH)",
    )
    parser.add_argument(
        "--qdrant-url", default=env("QDRANT_URL"), help="Qdrant server/cluster URL instead of --qdrant-path"
    )
    parser.add_argument("--qdrant-api-key", default=env("QDRANT_API_KEY"), help="Qdrant API key")
    parser.add_argument("--vector-name", default=None, help="named vector to use (default: unnamed)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")


def _default_path() -> str:
    return os.environ.get("QDRANT_PATH") or "./qdrant_data"


def _target(args: argparse.Namespace) -> Any:
    from integrations.qdrant.store import QdrantTarget

    return QdrantTarget(
        path=None if args.qdrant_url else args.qdrant_path,
        url=args.qdrant_url,
        api_key=args.qdrant_api_key,
        vector_name=args.vector_name,
    )


def _fail(exc: Exception) -> int:
    print(f"error: {exc}", file=sys.stderr)
    return 1


def _verbose(args: argparse.Namespace) -> None:
    # No-op when the host CLI already configured logging (basicConfig only acts once).
    if args.verbose:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        logging.getLogger("integrations.qdrant").setLevel(logging.INFO)


def run_ingest(args: argparse.Namespace) -> int:
    from integrations.qdrant.ingest import ingest_paths
    from integrations.qdrant.service_client import ServiceError
    from integrations.qdrant.store import StoreError

    _verbose(args)
    common: dict[str, Any] = {
        "qdrant": _target(args),
        "layout": args.layout,
        "chunk_tokens": args.chunk_tokens,
        "overlap_tokens": args.overlap,
        "batch_size": args.batch_size,
        "jsonl_field": args.jsonl_field,
        "force": args.force,
        "prune": args.prune,
        "progress": not args.no_progress and not args.json and sys.stderr.isatty(),
    }
    try:
        if args.ray:
            from integrations.qdrant.ray_ingest import ingest_with_ray

            report = ingest_with_ray(args.paths, args.collection, actors=args.ray_actors, cpus_per_actor=args.ray_cpus,
                                     gpus_per_actor=args.ray_gpus, **common)  # fmt: skip
        else:
            report = ingest_paths(
                args.paths, args.collection, service_url=args.service_url, api_key=args.api_key, **common
            )
        if args.optimize:
            _optimize(args)
    except (ServiceError, StoreError, ValueError, RuntimeError) as exc:
        return _fail(exc)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
        return 0
    print(
        f"Collection {report.collection!r} ({report.target}): {report.files_seen} files seen, "
        f"{report.files_ingested} ingested, {report.files_unchanged} unchanged, {len(report.skipped)} skipped"
    )
    print(
        f"  chunks: {report.chunks_written} written, {report.chunks_deleted} deleted"
        f" ({report.chunks_per_second:.1f} chunks/s over {report.seconds:.1f} s)"
    )
    gone = f"{len(report.removed)} file{'s' if len(report.removed) != 1 else ''} gone from the folder"
    if report.removed and report.prune:
        print(f"  {gone} since the last run: their chunks were deleted")
    elif report.removed:
        print(f"  {gone}, still searchable (--no-prune): run again without --no-prune to delete their chunks")
    for source in report.removed:
        print(f"  removed {_short(source)}")
    for path, reason in report.skipped:
        print(f"  skipped {_short(path)}: {reason}")
    return 0


def _optimize(args: argparse.Namespace) -> None:
    from integrations.qdrant.store import opened

    with opened(_target(args), args.collection) as store:
        store.optimize()


def run_migrate(args: argparse.Namespace) -> int:
    from integrations.qdrant.migrate import BACKUP, migrate_local_mode
    from integrations.qdrant.store import StoreError

    _verbose(args)
    folder = Path(args.qdrant_path).expanduser().resolve()
    try:
        done = migrate_local_mode(folder)
    except StoreError as exc:
        return _fail(exc)
    for item in done:
        print(
            f"migrated collection {item.collection!r}: {item.points} points "
            f"into Qdrant Edge at {folder / item.collection}"
        )
    print(f"the old local-mode files are in {folder / BACKUP} (delete them once you are happy)")
    return 0


def run_search(args: argparse.Namespace) -> int:
    from integrations.qdrant.searcher import search
    from integrations.qdrant.service_client import ServiceError
    from integrations.qdrant.store import StoreError

    _verbose(args)
    try:
        result = search(
            args.query,
            args.collection,
            top_k=args.top_k,
            rerank=args.rerank,
            candidates=args.candidates,
            mode=args.mode,
            service_url=args.service_url,
            api_key=args.api_key,
            qdrant=_target(args),
        )
    except (ServiceError, StoreError, ValueError) as exc:
        return _fail(exc)
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
        return 0
    print(
        f"{len(result.hits)} of {result.candidates} candidates from {result.collection!r} in "
        f"{_target(args).describe()}, found by {result.method} ({result.seconds * 1000:.0f} ms)"
    )
    rows = [
        [
            str(hit.rank),
            f"{hit.score:.3f}",
            _short(hit.source) + (f" p.{hit.page}" if hit.page is not None else ""),
            _snippet(hit.text, args.snippet_chars),
        ]
        for hit in result.hits
    ]
    print(_table(["#", "score", "source", "snippet"], rows))
    return 0


def _short(path: str) -> str:
    """Paths under the working folder print relative; others as given."""
    try:
        return Path(path).relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path


def _snippet(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1].rstrip() + "…"


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Standalone entry: `python -m integrations.qdrant.cli ingest|search|migrate-store ...`."""
    parser = argparse.ArgumentParser(prog="embedrank", description="Qdrant ingest and search helper")
    add_subcommands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
