"""Pydantic request/response models, one module per wire dialect (imported only by `service.api`)."""
