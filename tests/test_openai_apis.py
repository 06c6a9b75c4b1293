"""The v1 API next to the dated API: the pinned specifications, the Responses operations, and the shared
route fragment that lets every capability treat both APIs alike."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from lxml import etree

from components.openai_api import DATED_RESPONSES_OPERATIONS, V1_SPEC_URL
from tests.support import with_value
from tools.harness import RecordedResource, Recording, run_stack
from tools.rawxml import to_wellformed

API = "azure-native:apimanagement:Api"
FRAGMENT = "azure-native:apimanagement:PolicyFragment"
OPERATION = "azure-native:apimanagement:ApiOperation"
ALIASES = {"chat": "gpt-5.4", "embeddings-latest": "text-embedding-3-small"}


def xml(resource: RecordedResource) -> etree._Element:
    return etree.fromstring(to_wellformed(resource.get("value")).encode())


def fragment(recording: Recording, fragment_id: str) -> etree._Element:
    [found] = [f for f in recording.of_type(FRAGMENT) if f.get("id") == fragment_id]
    return xml(found)


def variable(root: etree._Element, name: str) -> str:
    return root.find(f".//set-variable[@name='{name}']").get("value")


@pytest.fixture(scope="module")
def aliased(dev_config: dict) -> Recording:
    return run_stack("dev", overrides={"routing": with_value(dev_config, "routing.aliases", ALIASES)["routing"]})


# -- the v1 API ---------------------------------------------------------------------------------------------


def test_v1_api_is_imported_from_the_pinned_ga_v1_specification(stack: Recording) -> None:
    api = stack.one(API, "policies-api-v1")
    assert (api.get("apiId"), api.get("path"), api.get("format")) == ("azure-openai-v1", "openai/v1",
                                                                     "openapi+json-link")
    assert api.get("value") == V1_SPEC_URL
    assert re.fullmatch(
        r"https://raw\.githubusercontent\.com/Azure/azure-rest-api-specs/[0-9a-f]{40}/"
        r"specification/ai/data-plane/OpenAI\.v1/azure-v1-v1-generated\.json",
        V1_SPEC_URL,
    )


def test_dated_api_keeps_its_id_path_and_logical_name(stack: Recording) -> None:
    api = stack.one(API, "policies-api")
    assert (api.get("apiId"), api.get("path")) == ("azure-openai", "openai")


@pytest.mark.parametrize("name", ["policies-api", "policies-entra-api"])
def test_dated_api_serves_the_responses_operations_azure_openai_calls(stack: Recording, name: str) -> None:
    if name == "policies-entra-api" and stack.stack == "dev":
        pytest.skip("dev has no Entra ID callers")
    dated = stack.one(API, name)
    operations = {o.get("operationId"): o for o in stack.of_type(OPERATION) if o.parent == dated.urn}
    assert set(operations) == {o.operation_id for o in DATED_RESPONSES_OPERATIONS}
    for op in DATED_RESPONSES_OPERATIONS:
        found = operations[op.operation_id]
        assert found.get("apiId") == dated.get("apiId")
        assert (found.get("method"), found.get("urlTemplate")) == (op.method, op.url_template)
        params = [p["name"] for p in found.get("templateParameters")]
        assert params == (["response_id"] if "{response_id}" in op.url_template else [])
        # Each new pin of the dated specification re-imports its operations and then updates these.
        assert dated.get("value") in found.get("description")


def test_only_the_dated_apis_get_added_operations(prod: Recording) -> None:
    parents = {o.parent for o in prod.of_type(OPERATION)}
    assert parents == {prod.one(API, name).urn for name in ("policies-api", "policies-entra-api")}


def test_the_api_policy_waits_for_the_added_operations(stack: Recording) -> None:
    api = stack.one(API, "policies-api")
    policy = stack.one("azure-native:apimanagement:ApiPolicy", "policies-api-policy")
    for operation in stack.of_type(OPERATION):
        if operation.parent == api.urn:
            assert stack.depends_on(policy, operation)


# -- the route fragment: one resolution for both APIs --------------------------------------------------------


def test_the_deployment_comes_from_the_path_or_else_the_json_body_model(stack: Recording) -> None:
    requested = variable(fragment(stack, "openai-request"), "requested-model")
    assert 'MatchedParameters.GetValueOrDefault("deployment-id", "")' in requested
    # Only the request body is read, and kept for the backend.
    assert 'Request.Body.As<JObject>(preserveContent: true)' in requested and 'body["model"]' in requested
    assert "Response" not in requested


def test_stored_responses_are_recognised_by_path_under_either_api(stack: Recording) -> None:
    root = fragment(stack, "openai-request")
    # The path after the API's own path (set by its policy), so the same test holds under any API path.
    relative = variable(root, "openai-path")
    assert 'context.Request.OriginalUrl.Path' in relative and 'context.Variables["openai-api-path"]' in relative
    route = variable(root, "openai-route")
    [pattern] = re.findall(r'"(\^/[^"]*)"', route)
    for path in ("/responses/resp_1", "/responses/resp_1/input_items", "/responses/resp_1/cancel"):
        assert re.search(pattern, path)
    # Not a create, not another operation, and not a deployment that happens to be named "responses".
    for path in ("/responses", "/chat/completions", "/deployments/responses/embeddings",
                 "/deployments/responses/chat/completions"):
        assert not re.search(pattern, path)
    # A POST is a stored-response call only as a cancel.
    assert 'context.Request.Method != "POST" || ((string)context.Variables["openai-path"]).EndsWith("/cancel")' in route


def test_without_aliases_every_name_is_its_own_deployment(dev: Recording) -> None:
    resolved = variable(fragment(dev, "openai-request"), "deployment-name")
    assert "case " not in resolved and "default: return requested;" in resolved


def test_aliases_resolve_to_their_deployment_on_both_apis(aliased: Recording) -> None:
    resolved = variable(fragment(aliased, "openai-request"), "deployment-name")
    cases = dict(re.findall(r'case "([^"]+)": return "([^"]+)";', resolved))
    assert cases == ALIASES
    assert aliased.outputs["modelAliases"] == ALIASES


def test_an_alias_reaches_the_backend_as_its_deployment_in_path_or_body(stack: Recording) -> None:
    root = fragment(stack, "openai-request")
    rewrite = root.find(".//rewrite-uri")
    assert rewrite.get("copy-unmatched-params") == "false"
    template = rewrite.get("template")
    # The v1 backend path is /openai/v1/...: the API path strips "/openai/v1", the backend URL ends in /openai.
    assert 'return (v1 ? "/v1" : "") + path' in template
    assert 'string path = (string)context.Variables["openai-path"];' in template
    assert 'path = "/deployments/" + deployment + "/"' in template
    # In the body (v1 and the Responses API), only when the name the caller used is an alias.
    [rewrites] = [w for w in root.iter("when") if w.find("set-body") is not None and
                  'body["model"] = (string)context.Variables["deployment-name"]' in w.find("set-body").text]
    assert '(string)context.Variables["requested-model"] != (string)context.Variables["deployment-name"]' in (
        rewrites.get("condition"))


def test_unknown_models_are_refused_before_any_consumer_policy(stack: Recording) -> None:
    policy = xml(stack.one("azure-native:apimanagement:ApiPolicy", "policies-api-v1-policy"))
    inbound = policy.find("inbound")
    assert inbound[2].get("fragment-id") == "openai-request" and inbound[3].tag == "base"
    when = fragment(stack, "openai-request").find("choose/when")
    assert '(string)context.Variables["openai-route"] == "deployment"' in when.get("condition")
    assert when.find("return-response/set-status").get("code") == "404"


# -- every capability reads the resolved deployment -----------------------------------------------------------


READS_DEPLOYMENT = re.compile(r'context\.Variables\.GetValueOrDefault(<string>)?\("deployment-name", (""|null)\)')


def test_no_policy_reads_the_deployment_from_the_path_but_the_route_fragment(prod: Recording) -> None:
    for resource in prod.of_type(FRAGMENT) + prod.of_type("azure-native:apimanagement:ProductPolicy"):
        if resource.get("id") != "openai-request":
            assert "deployment-id" not in resource.get("value"), resource.name


@pytest.mark.parametrize("fragment_id", ["openai-load-balancing", "token-usage-metrics", "usage-record",
                                         "semantic-cache-lookup", "entra-consumers"])
def test_capabilities_read_the_resolved_deployment(prod: Recording, fragment_id: str) -> None:
    [found] = [f for f in prod.of_type(FRAGMENT) if f.get("id") == fragment_id]
    assert READS_DEPLOYMENT.search(found.get("value"))


def test_the_allow_list_checks_the_resolved_deployment(stack: Recording) -> None:
    for policy in stack.of_type("azure-native:apimanagement:ProductPolicy"):
        condition = xml(policy).find("inbound/choose/when").get("condition")
        assert READS_DEPLOYMENT.search(condition)
        # Stored responses name no deployment; the key still has to be a consumer's.
        assert 'GetValueOrDefault("openai-route", "deployment") == "deployment"' in condition


def test_prompt_checks_apply_only_to_model_calls(prod: Recording) -> None:
    inbound = xml(prod.one("azure-native:apimanagement:ApiPolicy", "policies-api-v1-policy")).find("inbound")
    guarded = [w for w in inbound.iter("when") if w.get("condition") ==
               '@((string)context.Variables["openai-route"] == "deployment")']
    [when] = guarded
    assert [e.get("fragment-id") for e in when.iter("include-fragment")] == ["content-safety",
                                                                              "semantic-cache-lookup"]


# -- stored responses ------------------------------------------------------------------------------------------


def test_stored_responses_are_looked_up_on_each_account_in_turn(stack: Recording) -> None:
    root = fragment(stack, "openai-stored-response")
    accounts = [a.get("backendId") for a in stack.of_type("azure-native:apimanagement:Backend")
                if a.get("type") == "Single" and a.get("backendId").startswith("openai-")]
    retry = root.find("retry")
    assert retry.get("condition").startswith("@(context.Response.StatusCode == 404")
    assert int(retry.get("count")) == len(accounts) - 1
    # One account per attempt, each once, by literal backend id.
    tried = [(w.get("condition"), w.find("set-backend-service").get("backend-id")) for w in retry.iter("when")]
    assert sorted(backend for _, backend in tried) == sorted(accounts)
    assert all(f"== {i})" in condition for i, (condition, _) in enumerate(tried))
    forward = retry.find("forward-request")
    assert forward.get("buffer-response") == "false"


def test_the_backend_section_forwards_stored_responses_and_model_calls_differently(stack: Recording) -> None:
    for name in ("policies-api-policy", "policies-api-v1-policy"):
        choose = xml(stack.one("azure-native:apimanagement:ApiPolicy", name)).find("backend/choose")
        assert choose.find("when/include-fragment").get("fragment-id") == "openai-stored-response"
        assert choose.find("otherwise/include-fragment").get("fragment-id") == "openai-spillover-retry"


# -- the operations of the pinned v1 specification, as the emulator reads them -----------------------------------

SPECS = Path(__file__).resolve().parent.parent / "tools" / "emulator" / "specs"
V1_OPERATIONS = SPECS / "azure-openai-v1.operations.json"
# The transcription of the pinned document's paths; a new pin needs a new transcription (and a new hash).
V1_OPERATIONS_SHA256 = "642b7a0e64764da924b879b1354ecdb53326a3099fff334ce92ab547c2a56cc2"


def v1_operations() -> dict[tuple[str, str], str]:
    document = json.loads(V1_OPERATIONS.read_text())
    return {(o["method"], o["urlTemplate"]): o["operationId"] for o in document["operations"]}


def test_the_kept_v1_operations_are_those_of_the_pinned_specification() -> None:
    assert hashlib.sha256(V1_OPERATIONS.read_bytes()).hexdigest() == V1_OPERATIONS_SHA256
    document = json.loads(V1_OPERATIONS.read_text())
    assert document["source"] == V1_SPEC_URL
    assert document["servers"] == [{"url": "{endpoint}/openai/v1"}]


def test_the_v1_specification_has_the_operations_the_gateway_serves() -> None:
    served = {
        ("POST", "/chat/completions"): "createChatCompletion",
        ("POST", "/embeddings"): "createEmbedding",
        ("POST", "/responses"): "createResponse",
        ("GET", "/responses/{response_id}"): "getResponse",
        ("DELETE", "/responses/{response_id}"): "deleteResponse",
        ("GET", "/responses/{response_id}/input_items"): "listInputItems",
    }
    assert served.items() <= v1_operations().items()


def test_a_stored_response_no_account_holds_is_a_404_that_says_so(stack: Recording) -> None:
    [found] = [f for f in stack.of_type(FRAGMENT) if f.get("id") == "openai-response"]
    code = found.get("value")
    branch = code[code.index('"stored-response") {'):]
    assert branch.index('"ResponseNotFound"') < branch.index('"DeploymentNotFound"')
