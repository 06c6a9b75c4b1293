"""An app team's Pulumi program: read this team's gateway access, and only its own key, from the platform stack.

The key comes from the gateway stack's secret output `consumerKey-<consumer>` (one per team; no output holds
another team's key) and stays a secret here. Teams whose consumer names a `keyVaultReader` can instead let
their app read the key at run time from `keyVaultSecretUri` with its own Entra identity.
"""

import pulumi
from gateway_access import UnknownConsumerError, key_output_name, own_access

config = pulumi.Config()
gateway_stack = config.require("gatewayStack")
consumer = config.require("consumer")
gateway = pulumi.StackReference(gateway_stack)


def _checked(consumers: dict) -> dict:
    try:
        return own_access(consumers, consumer, gateway_stack)
    except UnknownConsumerError as error:
        raise pulumi.RunError(str(error)) from None


access = gateway.require_output("consumers").apply(_checked)
# Read only after the name is known to be a consumer, so a wrong name gets the clear error above.
api_key = access.apply(lambda _: gateway.require_output(key_output_name(consumer)))

pulumi.export("openaiBaseUrl", gateway.require_output("openaiBaseUrl"))
pulumi.export("allowedDeployments", access.apply(lambda a: a["deployments"]))
pulumi.export("tokensPerMinute", access.apply(lambda a: a["tokensPerMinute"]))
pulumi.export("keyVaultSecretUri", access.apply(lambda a: a.get("keyVaultSecretUri")))
pulumi.export("apiKey", pulumi.Output.secret(api_key))
