"""Text → token ids for every backend: prompts' ids, pairs, truncation on ids and padding (no model code)."""
