"""PyTorch runtime: sentence-transformers encoders, CrossEncoders and causal-LM rerankers (CPU, CUDA, MPS)."""
