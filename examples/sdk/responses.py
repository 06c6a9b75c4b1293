"""The Responses API through the gateway: create, stream, retrieve, list input items, delete; both clients.

    python examples/sdk/responses.py [deployment-or-alias]

A stored response lives on the Azure OpenAI account that created it; the gateway finds it on retrieve,
delete and input items by asking each account in turn. `previous_response_id` is not supported across
accounts (README, "API surface").
"""

from __future__ import annotations

import sys

from clients import RESPONSES_API_VERSION, azure_client, v1_client


def main() -> None:
    model = sys.argv[1] if len(sys.argv) > 1 else "gpt-5.4"
    clients = (("AzureOpenAI, /openai/responses", azure_client(RESPONSES_API_VERSION)),
               ("OpenAI, v1 API", v1_client()))
    for name, client in clients:
        print(f"== {name}")
        response = client.responses.create(model=model, input="Name one prime number.")
        print(response.output_text, f"(tokens: {response.usage.total_tokens if response.usage else 'n/a'})")

        with client.responses.stream(model=model, input="Count from one to three.") as stream:
            for event in stream:
                if event.type == "response.output_text.delta":
                    print(event.delta, end="", flush=True)
        print()

        again = client.responses.retrieve(response.id)
        items = client.responses.input_items.list(response.id)
        print(f"retrieved {again.id}: {again.status}; {len(items.data)} input item(s)")
        client.responses.delete(response.id)


if __name__ == "__main__":
    main()
