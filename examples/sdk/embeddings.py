"""Embeddings through the gateway with both clients.

    python examples/sdk/embeddings.py [deployment-or-alias]
"""

from __future__ import annotations

import sys

from clients import azure_client, v1_client


def main() -> None:
    model = sys.argv[1] if len(sys.argv) > 1 else "text-embedding-3-small"
    for name, client in (("AzureOpenAI, dated API", azure_client()), ("OpenAI, v1 API", v1_client())):
        result = client.embeddings.create(model=model, input=["The gateway routes by deployment."])
        print(f"{name}: {len(result.data[0].embedding)} dimensions, {result.usage.total_tokens} tokens")


if __name__ == "__main__":
    main()
