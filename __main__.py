"""GenAI gateway: load the stack's settings, compose the components, export what app teams need."""

import pulumi

from components.apim_baseline import ApimBaseline, ApimBaselineArgs
from components.settings import settings_from_pulumi_config

settings = settings_from_pulumi_config()

baseline = ApimBaseline("gateway", ApimBaselineArgs.from_settings(settings))

pulumi.export("resourceGroupName", baseline.resource_group_name)
pulumi.export("apimName", baseline.apim_name)
pulumi.export("gatewayUrl", baseline.public_base_url)
pulumi.export("apimGatewayUrl", baseline.gateway_url)
pulumi.export("gatewayIdentityClientId", baseline.identity.client_id)
