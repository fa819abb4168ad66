"""MLX runtime (Apple Silicon; CPU builds on Linux): mlx-lm forward passes for decoder models."""
