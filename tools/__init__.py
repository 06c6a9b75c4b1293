"""Offline tools: the plan of a stack under Pulumi's mock engine, the policy lint, benchmarks."""
