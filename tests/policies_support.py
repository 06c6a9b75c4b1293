"""Helpers for the GatewayPolicies tests: its resources by type, policy documents parsed as API Management reads
them (`format: rawxml`), and the backends and pools of a recording.
"""

from __future__ import annotations

from lxml import etree

from tools.harness import RecordedResource, Recording
from tools.rawxml import to_wellformed

BACKEND = "azure-native:apimanagement:Backend"
FRAGMENT = "azure-native:apimanagement:PolicyFragment"
PRODUCT = "azure-native:apimanagement:Product"
API = "azure-native:apimanagement:Api"
API_POLICY = "azure-native:apimanagement:ApiPolicy"
# The key callers' APIs by surface; the dated one keeps its logical names.
KEY_APIS = {"dated": "policies-api", "v1": "policies-api-v1"}
ACCOUNT = "azure-native:cognitiveservices:Account"


def document(resource: RecordedResource) -> etree._Element:
    return etree.fromstring(to_wellformed(resource.get("value")).encode())


def fragment(recording: Recording, fragment_id: str) -> RecordedResource:
    [found] = [f for f in recording.of_type(FRAGMENT) if f.get("id") == fragment_id]
    return found


def fragment_xml(recording: Recording, fragment_id: str) -> etree._Element:
    return document(fragment(recording, fragment_id))


def singles(recording: Recording) -> list[RecordedResource]:
    """The chat/completions backends of the OpenAI accounts (not the embeddings or content-safety ones)."""
    return [
        b for b in recording.of_type(BACKEND) if b.get("type") == "Single" and b.get("backendId").startswith("openai-")
    ]


def pools(recording: Recording) -> dict[str, RecordedResource]:
    return {
        b.get("backendId"): b
        for b in recording.of_type(BACKEND)
        if b.get("type") == "Pool" and b.get("backendId").startswith("pool-")
    }


def backend_of_account(recording: Recording, account: str) -> RecordedResource:
    [found] = [b for b in singles(recording) if b.get("backendId") == f"openai-{account}"]
    return found


def members(recording: Recording, pool_id: str) -> dict[str, tuple[int, int]]:
    """Pool members as account -> (priority, weight)."""
    by_id = {b.id: b.get("backendId").removeprefix("openai-") for b in singles(recording)}
    return {by_id[s["id"]]: (s["priority"], s["weight"]) for s in pools(recording)[pool_id].get("pool.services")}


def deployment_names(recording: Recording) -> set[str]:
    return {d.get("deploymentName") for d in recording.of_type("azure-native:cognitiveservices:Deployment")}
