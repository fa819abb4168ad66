"""Recall@5 of dense, BM25 and hybrid search on examples/corpus, with the real MiniLM through the service.

    .venv/bin/python benchmarks/retrieval_keywords.py        # starts its own server (~1 min)
    .venv/bin/python benchmarks/retrieval_keywords.py --service-url http://127.0.0.1:9000

Two query sets: KEYWORD (error codes, option names, identifiers typed as users type them) and NATURAL
(questions in other words than the answer's). A query counts as found when one of the top 5 chunks holds its
`needle` (the identifier, or a phrase of the answer). No reranking: this measures what each retrieval mode
hands to /rerank. Also reports the ingest's store share (writes + BM25 vectors) of its wall time.
Results: benchmarks/results/retrieval_keywords.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "integrations" / "qdrant"))

from integrations.qdrant import QdrantTarget, ingest_paths, search  # noqa: E402
from integrations.qdrant.service_client import EmbedrankClient  # noqa: E402

CORPUS = REPO / "examples" / "corpus"
K = 5
KEYWORD = [
    ("KST-4003", "KST-4003"),
    ("error KST-3010", "KST-3010"),
    ("KST-1002", "KST-1002"),
    ("what does KST-5003 mean", "KST-5003"),
    ("KST-2050", "KST-2050"),
    ("KST-4010", "KST-4010"),
    ("KST-1010 fix", "KST-1010"),
    ("--wal-recovery", "--wal-recovery"),
    ("--linger-ms", "--linger-ms"),
    ("KESTREL_SEGMENT_BYTES", "KESTREL_SEGMENT_BYTES"),
    ("--metrics-port default", "--metrics-port"),
    ("KESTREL_NUM_IO_THREADS", "KESTREL_NUM_IO_THREADS"),
    ("Consumer.ack_batch", "Consumer.ack_batch"),
    ("max_in_flight_requests", "max_in_flight_requests"),
    ("queued_max_requests", "queued_max_requests"),
    ("min_free_bytes", "min_free_bytes"),
    ("rebalance_backoff_ms", "rebalance_backoff_ms"),
    ("transactional_id", "transactional_id"),
]
NATURAL = [
    ("How can I back up the broker without stopping it?", "snapshot create"),
    ("Why do I receive the same message twice?", "at least once"),
    ("How should I upgrade the brokers of a cluster?", "one broker at a time"),
    ("Which metric should I watch first?", "consumer lag"),
    ("How much disk space will I need?", "retention period"),
    ("Are messages kept in order?", "within one partition only"),
    ("Can I remove one record from a topic?", "append-only"),
    ("A freshly started consumer gets no data. Why?", "earliest offset"),
    ("Sending hangs and the program stops making progress", "local buffer is full"),
    ("Consumers cannot keep up with the producers", "slow downstream"),
    ("The machine is running out of RAM", "page cache"),
    ("How do I write to several topics atomically?", "Transaction.commit()"),
    ("How many partitions should a new topic get?", "times two for headroom"),
    ("Is there a graphical interface?", "kestrel-ui"),
    ("Time differences between servers cause trouble", "NTP"),
    ("How do I connect from Python?", "kestrel.connect"),
]


def recall(service: EmbedrankClient, target: QdrantTarget, queries: list[tuple[str, str]], mode: str) -> dict[str, Any]:
    missed = []
    for query, needle in queries:
        hits = search(query, "kestrel", mode=mode, top_k=K, rerank=False, service=service, qdrant=target).hits  # type: ignore[arg-type]
        if not any(needle in hit.text for hit in hits):
            missed.append(query)
    return {"recall_at_5": round(1 - len(missed) / len(queries), 3), "missed": missed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--service-url", default=None, help="a running service (default: start one with MiniLM)")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "retrieval_keywords.json"))
    args = parser.parse_args()
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        url = args.service_url
        if url is None:
            from qdrant_server import running_server

            url = stack.enter_context(running_server(work))
        service = stack.enter_context(EmbedrankClient(url))
        target = QdrantTarget(path=str(work / "store"))
        report = ingest_paths([CORPUS], "kestrel", service=service, qdrant=target)
        result: dict[str, Any] = {
            "model": service.health().model,
            "corpus": {"files": report.files_ingested, "chunks": report.chunks_written},
            "ingest": {
                "seconds": round(report.seconds, 2),
                "store_seconds": round(report.store_seconds, 3),
                "store_share": round(report.store_seconds / report.seconds, 3),
            },
        }
        for name, queries in (("keyword", KEYWORD), ("natural", NATURAL)):
            result[name] = {mode: recall(service, target, queries, mode) for mode in ("dense", "bm25", "hybrid")}
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    print("\n| query set | dense | BM25 | hybrid |\n|---|---|---|---|")
    for name in ("keyword", "natural"):
        cells = " | ".join(f"{result[name][mode]['recall_at_5']:.2f}" for mode in ("dense", "bm25", "hybrid"))
        print(f"| {name} ({len(KEYWORD if name == 'keyword' else NATURAL)}) | {cells} |")


if __name__ == "__main__":
    main()
