"""Pulumi components of the GenAI gateway, one module per component, plus settings and shared helpers."""
