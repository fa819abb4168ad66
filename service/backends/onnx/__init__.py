"""ONNX Runtime (CPU): graphs exported from the torch stack, cached, optionally int8."""
