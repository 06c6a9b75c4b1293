"""The ids of the gateway's APIM backends: policies name them as literals, alerts and workbooks read them."""


def account_backend_id(account: str) -> str:
    """The Single backend of one OpenAI account."""
    return f"openai-{account}"


def pool_backend_id(deployment: str) -> str:
    """The Pool backend of one deployment name."""
    return f"pool-{deployment}"
