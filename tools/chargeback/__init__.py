"""Chargeback: priced usage per consumer from the gateway's captured usage records (`python -m tools.chargeback`)."""
