"""The guardrail pack for the Pulumi CLI: `pulumi preview --policy-pack policies` (and `pulumi up`, and
`pulumi policy publish` from this folder).

Only builds the `PolicyPack` (which starts the analyzer server and blocks). The CLI runs this folder with
`python -m pulumi.policy <engine> <pack folder>`, which runs it with `runpy.run_path`: the pack folder is
then the first entry of `sys.path`, so the rules are the package `rules/` next to this file. Nothing here
reaches outside the folder, so the pack works the same when the CLI packs it for publishing and a policy
group runs it elsewhere, in a virtual environment made from `requirements.txt` (see PulumiPolicy.yaml).
The offline plan and the tests import the same package as `policies.rules` from the project root.
"""

from pulumi_policy import EnforcementLevel, PolicyPack
from rules import PACK_DESCRIPTION, PACK_NAME, POLICIES

PolicyPack(
    name=PACK_NAME,
    policies=POLICIES,
    enforcement_level=EnforcementLevel.ADVISORY,
    description=PACK_DESCRIPTION,
    provider="azure",
    tags=["azure", "api-management", "azure-openai", "genai-gateway"],
)
