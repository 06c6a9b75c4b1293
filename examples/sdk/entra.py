"""An Entra ID caller: no subscription key, a token from azure-identity (`get_bearer_token_provider`).

    export GATEWAY_URL=$(pulumi stack output gatewayUrl)
    export GATEWAY_ENTRA_SCOPE=api://<gateway-app-id>/.default     # an audience of entraId.audiences
    az login   # or a managed identity / workload identity: DefaultAzureCredential picks it up
    python examples/sdk/entra.py [deployment-or-alias]

The application the token is issued to must be mapped to a consumer (consumers[].entraClientAppIds); that
consumer's allow-list and token limits apply, on both APIs.
"""

from __future__ import annotations

import sys

from clients import azure_client, v1_client


def main() -> None:
    model = sys.argv[1] if len(sys.argv) > 1 else "gpt-5.4"
    for name, client in (("AzureOpenAI", azure_client(entra=True)), ("OpenAI, v1 API", v1_client(entra=True))):
        reply = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Hi!"}])
        print(f"{name}: {reply.choices[0].message.content}")


if __name__ == "__main__":
    main()
