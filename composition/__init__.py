"""The one mapping from stack settings to component Args.

Components take plain typed Args (ids, names, small records of `pulumi.Input` values) and know nothing of stack
configuration; this module is the only place that reads the settings models to build them, so the components
can be reused by other programs (examples/openai-only), from other Pulumi languages (components/ is a Pulumi
component package) and in landing zones that bring their own network.
"""

from .capabilities import content_safety_args, semantic_cache_args
from .common import circuit_breaker_record, stack_tags
from .governance import alerts_args, consumer_keys_args, gateway_policies_args, monthly_quotas, usage_workbook_args
from .platform import baseline_args, openai_args, telemetry_args

__all__ = [
    "alerts_args",
    "baseline_args",
    "circuit_breaker_record",
    "consumer_keys_args",
    "content_safety_args",
    "gateway_policies_args",
    "monthly_quotas",
    "openai_args",
    "semantic_cache_args",
    "stack_tags",
    "telemetry_args",
    "usage_workbook_args",
]
