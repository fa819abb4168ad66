"""HTTP layer: one router per wire dialect, thin handlers, errors rendered in the caller's dialect."""
