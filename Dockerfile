# syntax=docker/dockerfile:1
# embedrank: the API server in a small, non-root image.
#   docker build -t embedrank .
#   docker buildx build --platform linux/amd64,linux/arm64 -t <registry>/embedrank:<tag> --push .
# Build args: EXTRAS (pip extras, default "ui,qdrant,tiktoken"), TORCH_VERSION (pinned like .ci/setup).
ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim-bookworm AS build
ARG TARGETARCH
ARG TORCH_VERSION=2.13.0
ARG EXTRAS=ui,qdrant,tiktoken
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
# torch first and pinned. amd64: the CPU wheel (PyPI's default bundles CUDA, gigabytes);
# arm64: PyPI's wheel is already CPU-only.
RUN if [ "$TARGETARCH" = "amd64" ]; then \
        pip install "torch==${TORCH_VERSION}" --index-url https://download.pytorch.org/whl/cpu; \
    else \
        pip install "torch==${TORCH_VERSION}"; \
    fi
WORKDIR /src
COPY pyproject.toml README.md ./
COPY service ./service
COPY ui ./ui
COPY integrations ./integrations
# The project itself, from source; its dependency ranges live in pyproject.toml.
# hadolint ignore=DL3013
RUN pip install ".${EXTRAS:+[$EXTRAS]}"

FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime
RUN groupadd --system --gid 10001 embedrank \
    && useradd --system --uid 10001 --gid embedrank --create-home --home-dir /home/embedrank embedrank
COPY --from=build /opt/venv /opt/venv
# HOST=0.0.0.0: inside a container the port is only reachable through Docker's mapping.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    PORT=9000 \
    HF_HOME=/home/embedrank/.cache/huggingface \
    GRADIO_ANALYTICS_ENABLED=False
USER 10001:10001
WORKDIR /home/embedrank
RUN mkdir -p /home/embedrank/.cache/huggingface
VOLUME ["/home/embedrank/.cache/huggingface"]
EXPOSE 9000
# /health needs no API key; it turns 503 when inference keeps failing, so Docker marks the container unhealthy.
HEALTHCHECK --interval=30s --timeout=5s --start-period=180s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '9000'), timeout=4)"]
# SIGTERM: stop accepting, drain in-flight requests for SHUTDOWN_GRACE_S, exit 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["embedrank", "serve"]
