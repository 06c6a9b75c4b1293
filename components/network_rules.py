"""NSG rule sets of the gateway's subnets, as Azure requires them (see docs/azure-facts in shared/)."""

from __future__ import annotations

from pulumi_azure_native import network


def _rule(
    name: str,
    priority: int,
    direction: str,
    source: str,
    destination: str,
    ports: list[str],
    description: str,
    protocol: str = "Tcp",
    access: str = "Allow",
) -> network.SecurityRuleArgs:
    return network.SecurityRuleArgs(
        name=name,
        priority=priority,
        direction=direction,
        access=access,
        protocol=protocol,
        source_address_prefix=source,
        source_port_range="*",
        destination_address_prefix=destination,
        destination_port_ranges=ports,
        description=description,
    )


def injected_apim_rules(mode: str, app_gateway_prefix: str | None) -> list[network.SecurityRuleArgs]:
    """Classic VNet injection (Developer/Premium): the inbound and outbound rules the service needs."""
    rules = [
        _rule("AllowApimManagement", 100, "Inbound", "ApiManagement", "VirtualNetwork", ["3443"],
              "Management endpoint for the Azure portal and PowerShell"),
        _rule("AllowAzureLoadBalancer", 110, "Inbound", "AzureLoadBalancer", "VirtualNetwork", ["6390"],
              "Azure infrastructure load balancer"),
    ]
    if mode == "External":
        rules.append(_rule("AllowClientHttps", 120, "Inbound", "Internet", "VirtualNetwork", ["443"],
                           "Client traffic to the public gateway endpoint"))
    elif app_gateway_prefix:
        rules.append(_rule("AllowAppGatewayHttps", 120, "Inbound", app_gateway_prefix, "VirtualNetwork", ["443"],
                           "Client traffic forwarded by the Application Gateway WAF"))
    rules += [
        _rule("AllowStorage", 100, "Outbound", "VirtualNetwork", "Storage", ["443"],
              "Dependency on Azure Storage for core service functionality"),
        _rule("AllowSql", 110, "Outbound", "VirtualNetwork", "Sql", ["1433"],
              "Access to Azure SQL endpoints for core service functionality"),
        _rule("AllowKeyVault", 120, "Outbound", "VirtualNetwork", "AzureKeyVault", ["443"],
              "Access to Azure Key Vault for core service functionality"),
        _rule("AllowAzureMonitor", 130, "Outbound", "VirtualNetwork", "AzureMonitor", ["1886", "443"],
              "Publish diagnostics logs, metrics and Resource Health"),
    ]
    return rules


def app_gateway_rules() -> list[network.SecurityRuleArgs]:
    """Application Gateway v2: infrastructure ports, the load balancer probe, and client HTTPS."""
    return [
        _rule("AllowGatewayManager", 100, "Inbound", "GatewayManager", "*", ["65200-65535"],
              "Application Gateway v2 infrastructure communication"),
        _rule("AllowAzureLoadBalancer", 110, "Inbound", "AzureLoadBalancer", "*", ["*"],
              "Azure infrastructure load balancer probes", protocol="*"),
        _rule("AllowClientHttps", 120, "Inbound", "Internet", "*", ["443"], "Client HTTPS to the WAF listener"),
    ]


def private_endpoint_rules(apim_prefix: str, client_prefixes: list[str]) -> list[network.SecurityRuleArgs]:
    """Private endpoints answer the gateway (and configured readers) only, not every subnet of the VNet."""
    rules = [
        _rule("AllowGatewayToServices", 100, "Inbound", apim_prefix, "VirtualNetwork", ["*"],
              "API Management reaches OpenAI, Event Hubs, Redis, Content Safety and Key Vault", protocol="Tcp"),
    ]
    for i, prefix in enumerate(client_prefixes):
        rules.append(_rule(f"AllowClient{i + 1}", 110 + i, "Inbound", prefix, "VirtualNetwork", ["443"],
                           "Configured reader of a private endpoint (e.g. the capture storage)"))
    rules.append(_rule("DenyOtherVirtualNetworkInbound", 4000, "Inbound", "VirtualNetwork", "VirtualNetwork", ["*"],
                       "Nothing else in the VNet (e.g. the App Gateway subnet) reaches the services", protocol="*",
                       access="Deny"))
    return rules
