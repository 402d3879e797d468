"""Failure strategies: error types, the strategy model, resolution across levels, and actions."""
