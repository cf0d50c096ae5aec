"""Explanations: why this lawyer, why not that one."""
