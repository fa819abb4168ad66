"""Print the client × call × result matrix: `python -m tests.clients.matrix [--base URL [--key KEY]]`."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from tests.clients.harness import KEY, Server, check, native, run_family
from tests.live_server import live_server

FAMILIES = ("langchain", "llamaindex", "hf_hub")


@contextmanager
def target(base: str | None, key: str | None) -> Iterator[Server]:
    """The given running server, or a fresh one on this checkout."""
    if base:
        yield Server(base, key, model_of(base, key))
        return
    with live_server(env={"API_KEY": key} if key else {}, timeout_s=300) as url:
        yield Server(url, key, model_of(url, key))


def model_of(base: str, key: str | None) -> str:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return str(httpx.get(f"{base}/v1/models", headers=headers, timeout=30).json()["data"][0]["id"])


def results(server: Server) -> Iterator[tuple[str, str, str]]:
    expected = native(server)
    for family in FAMILIES:
        for call, outcome in run_family(family, server).items():
            try:
                check(outcome, expected)
                yield family, call, "ok"
            except AssertionError as failed:
                yield family, call, " ".join(str(failed).split())[:300]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", help="a running server (default: start one per key setting here)")
    parser.add_argument("--key", help="with --base: its API key")
    args = parser.parse_args()
    settings = [args.key] if args.base else [None, KEY]
    print("| key | family | call | result |\n| --- | --- | --- | --- |")
    for key in settings:
        with target(args.base, key) as server:
            for family, call, result in results(server):
                print(f"| {'yes' if key else 'no'} | {family} | {call} | {result.replace('|', '/')} |")


if __name__ == "__main__":
    main()
