"""Call the gateway with the official OpenAI SDK (`pip install openai`), exactly as Azure OpenAI.

    export GATEWAY_OPENAI_BASE_URL=$(pulumi stack output openaiBaseUrl)   # https://<gateway>/openai
    export GATEWAY_API_KEY=$(pulumi stack output consumerKey-team-alpha --show-secrets)
    python examples/sdk/chat.py gpt-5.4

The SDK sends the key in the `api-key` header, which is the gateway's subscription key header; the gateway
authenticates to Azure OpenAI with its own managed identity, so no Azure OpenAI key exists anywhere.
"""

import os
import sys

from openai import AzureOpenAI

API_VERSION = "2024-10-21"


def main() -> None:
    deployment = sys.argv[1] if len(sys.argv) > 1 else "gpt-5.4"
    base_url = os.environ["GATEWAY_OPENAI_BASE_URL"].removesuffix("/openai")
    client = AzureOpenAI(azure_endpoint=base_url, api_key=os.environ["GATEWAY_API_KEY"], api_version=API_VERSION)

    reply = client.chat.completions.create(
        model=deployment, messages=[{"role": "user", "content": "Say hello in one short sentence."}]
    )
    print(reply.choices[0].message.content)
    print(f"tokens: {reply.usage.total_tokens if reply.usage else 'n/a'}")

    # Streaming works through the gateway; ask for the final usage chunk so token counts are exact.
    stream = client.chat.completions.create(
        model=deployment,
        messages=[{"role": "user", "content": "Count from one to five."}],
        stream=True,
        stream_options={"include_usage": True},
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            print(chunk.choices[0].delta.content, end="", flush=True)
    print()


if __name__ == "__main__":
    main()
