"""ContentSafety, the backend: API Management's backend for the account authenticates with its managed identity,
declared through an incremental ARM deployment (the typed SDK cannot carry `credentials.managedIdentity`) after the
roles and private DNS, and the policy lint knows backends declared that way.
"""

from __future__ import annotations

from components.content_safety import BACKEND_API_VERSION, BACKEND_DEPLOYMENT, BACKEND_ID
from tests.content_safety_support import APIM, ROLE, account, backend, backend_deployment, endpoint_of, zone_group_of
from tools.azure_mocks import identity_client_id
from tools.harness import Recording


def test_backend_authenticates_with_a_managed_identity(prod: Recording) -> None:
    declared = backend(prod)
    assert declared["type"] == "Microsoft.ApiManagement/service/backends"
    assert declared["apiVersion"] == BACKEND_API_VERSION == "2024-06-01-preview"
    assert declared["properties"]["credentials"] == {
        "managedIdentity": {
            "resource": "https://cognitiveservices.azure.com",
            "clientId": "[parameters('identityClientId')]",
        }
    }
    parameters = backend_deployment(prod).get("properties.parameters")
    assert parameters["identityClientId"]["value"] == identity_client_id("prod", "gateway-identity")


def test_backend_is_the_account_endpoint_over_validated_tls(prod: Recording) -> None:
    declared = backend(prod)
    assert declared["name"] == f"[format('{{0}}/{BACKEND_ID}', parameters('serviceName'))]"
    properties = declared["properties"]
    assert (properties["url"], properties["protocol"]) == ("[parameters('endpoint')]", "http")
    assert properties["tls"] == {"validateCertificateChain": True, "validateCertificateName": True}
    parameters = backend_deployment(prod).get("properties.parameters")
    subdomain = account(prod).get("properties.customSubDomainName")
    assert parameters["endpoint"]["value"] == f"https://{subdomain}.cognitiveservices.azure.com"
    assert parameters["serviceName"]["value"] == prod.one(APIM).get("serviceName")


def test_backend_is_an_incremental_deployment_after_the_roles_and_private_dns(prod: Recording) -> None:
    deployment = backend_deployment(prod)
    assert deployment.get("deploymentName") == BACKEND_DEPLOYMENT
    assert deployment.get("properties.mode") == "Incremental"
    for dependency in (
        prod.one(APIM),
        prod.one(ROLE, "safety-cs-role-cognitive-services-user"),
        zone_group_of(prod, endpoint_of(prod, "safety-cs-pe")),
    ):
        assert prod.depends_on(deployment, dependency), dependency.name


def test_the_lint_knows_backends_declared_in_arm_templates(prod: Recording) -> None:
    from tools.policy_lint import references_of

    backends = references_of(prod).backends
    assert BACKEND_ID in backends
    # Only backends: the LLM logging template declares diagnostics, which name no backend.
    assert "azuremonitor" not in backends and "azure-openai" not in backends
