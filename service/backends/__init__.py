"""Inference backends (torch, mlx, onnx), each behind the contracts in `base`."""
