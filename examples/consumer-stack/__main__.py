"""An app team's Pulumi program: read this team's gateway access from the platform stack.

The subscription key stays a secret end to end: it comes from the gateway stack's secret output
`consumerKeys` and is exported here only as a secret (hand it to your app's Key Vault or settings).
"""

import pulumi

config = pulumi.Config()
gateway = pulumi.StackReference(config.require("gatewayStack"))
consumer = config.require("consumer")

access = gateway.require_output("consumers").apply(lambda consumers: consumers[consumer])
api_key = gateway.require_output("consumerKeys").apply(lambda keys: keys[consumer])

pulumi.export("openaiBaseUrl", gateway.require_output("openaiBaseUrl"))
pulumi.export("allowedDeployments", access.apply(lambda a: a["deployments"]))
pulumi.export("tokensPerMinute", access.apply(lambda a: a["tokensPerMinute"]))
pulumi.export("apiKey", pulumi.Output.secret(api_key))
