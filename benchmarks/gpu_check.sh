#!/usr/bin/env bash
# The whole CUDA check in one command for the device tool's H200 machine (~5 minutes of its 15):
# the GPU-marked tests, then benchmarks/model_sizes.py on the Qwen3-Embedding-0.6B and -4B shapes
# (bf16, built there; the 0.6B server also carries a Qwen3-Reranker-0.6B shape) and MiniLM, each
# against the in-process SentenceTransformer.encode ceiling of the same run. Reports land in $OUT.
#
# 1. Here (a machine with the registry), once:   bash benchmarks/gpu_wheels.sh
#    -> .whl/ (fastapi, starlette, pydantic, pydantic_core, annotated-types, typing-inspection,
#       typing_extensions, pydantic-settings, python-dotenv, uvicorn, orjson; exact pins in that
#       script) and .gpu-carry/minilm-fp16; both git-ignored, ~50 MiB together.
# 2. The device tool:  run(command="bash benchmarks/gpu_check.sh", carry=[".whl", ".gpu-carry"], timeout_s=420)
# 3. Here: copy $OUT's model_sizes_cuda.json to benchmarks/results/ and the table into README.
# Every step has its own timeout, so a slow part leaves the others' output; 420 s leaves a rerun.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/embedrank-gpu-check}
mkdir -p "$OUT"
started=$(date +%s)
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH="/tmp/site:$PWD" HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TRANSFORMERS_VERBOSITY=error
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false GRADIO_ANALYTICS_ENABLED=False
{ nvidia-smi; python3 -c "import torch, transformers, sentence_transformers as st; print(torch.__version__, \
  torch.version.cuda, transformers.__version__, st.__version__, torch.cuda.get_device_name(0))"; } > "$OUT/env.txt" 2>&1

echo "== gpu tests ($(( $(date +%s) - started )) s)"
timeout 100 python3 -m pytest -q -p no:cacheprovider -m gpu tests/gpu -o addopts="" 2>&1 | tee "$OUT/pytest.log"

echo "== benchmark ($(( $(date +%s) - started )) s)"
# --deadline-s: start no new server after 230 s of the benchmark; the hard stop is 300 s.
timeout 300 python3 benchmarks/model_sizes.py --device cuda \
  --models qwen3-embedding-0.6b qwen3-embedding-4b minilm --minilm-path .gpu-carry/minilm-fp16 \
  --backends torch --rerank-with qwen3-embedding-0.6b=qwen3-reranker-0.6b \
  --single 50 --short 4096 --short-clients 64 --passages 1024 --passages-per-request 16 --passage-clients 8 \
  --rerank-requests 3 --rerank-passages 100 --offline-batch 128 --deadline-s 230 \
  --work /tmp/embedrank-shapes --out "$OUT/model_sizes_cuda.json" 2>&1 | tee "$OUT/benchmark.log"
echo "== done in $(( $(date +%s) - started )) s"
