"""The two ways an app reaches the gateway with the official openai SDK, and the Entra ID variant of each.

    export GATEWAY_URL=$(pulumi stack output gatewayUrl)
    export GATEWAY_API_KEY=$(pulumi stack output consumerKey-team-alpha --show-secrets)

- `azure_client()`: AzureOpenAI against the dated API (`openaiBaseUrl`, `/openai/deployments/{model}/...` with
  `api-version`); its Responses calls go to `/openai/responses?api-version=...`. The SDK sends the key as
  `api-key`, the gateway's subscription key header.
- `v1_client()`: OpenAI against the v1 API (`openaiV1BaseUrl`, `/openai/v1/...`, the model in the body). That
  client sends its key only as `Authorization: Bearer <key>`, and API Management reads a subscription key only
  from the header or query parameter the API names (`api-key`); so the key goes in `default_headers` too.
  The Bearer copy is harmless: the gateway replaces Authorization with its own managed identity's token.
- `entra=True`: no key; an Entra ID token (azure-identity's `get_bearer_token_provider`) as
  `Authorization: Bearer`, for consumers mapped to an application (`consumers[].entraClientAppIds`) on stacks
  with `entraId.enabled`, against the Entra ID callers' APIs (`entraOpenaiBaseUrl`, `entraOpenaiV1BaseUrl`:
  `/entra/openai`, `/entra/openai/v1`). The scope is the gateway's audience (`entraId.audiences`, e.g.
  `api://<app-id>/.default`) in GATEWAY_ENTRA_SCOPE.
"""

from __future__ import annotations

import os

from openai import AzureOpenAI, OpenAI

# The last dated GA version, for chat and embeddings on the dated API.
DATED_API_VERSION = "2024-10-21"
# The Responses API on the dated path needs a preview api-version (the v1 API needs none).
RESPONSES_API_VERSION = "2025-04-01-preview"


def _gateway() -> str:
    return os.environ["GATEWAY_URL"].rstrip("/")


def _token_provider():  # type: ignore[no-untyped-def]
    from azure.identity import DefaultAzureCredential, get_bearer_token_provider

    return get_bearer_token_provider(DefaultAzureCredential(), os.environ["GATEWAY_ENTRA_SCOPE"])


def azure_client(api_version: str = DATED_API_VERSION, entra: bool = False) -> AzureOpenAI:
    if entra:
        # The SDK appends /openai: the Entra ID callers' dated API is /entra/openai.
        return AzureOpenAI(azure_endpoint=f"{_gateway()}/entra", azure_ad_token_provider=_token_provider(),
                           api_version=api_version)
    return AzureOpenAI(azure_endpoint=_gateway(), api_key=os.environ["GATEWAY_API_KEY"], api_version=api_version)


def v1_client(entra: bool = False) -> OpenAI:
    if entra:
        # A callable api_key is called before every request: a fresh token, sent as Authorization: Bearer.
        return OpenAI(base_url=f"{_gateway()}/entra/openai/v1/", api_key=_token_provider())
    base_url = f"{_gateway()}/openai/v1/"
    key = os.environ["GATEWAY_API_KEY"]
    return OpenAI(base_url=base_url, api_key=key, default_headers={"api-key": key})
