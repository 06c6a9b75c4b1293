"""The guardrail pack for the Pulumi CLI: `pulumi preview --policy-pack policies`.

Only builds the `PolicyPack` (which starts the analyzer server and blocks); the rules live in
the `policies.rules` package, which the offline plan and the tests import without starting a server.
"""

import sys
from pathlib import Path

# The CLI runs this file from the pack directory; the rules are imported as the `policies` package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import EnforcementLevel, PolicyPack

from policies.rules import PACK_DESCRIPTION, PACK_NAME, POLICIES

PolicyPack(
    name=PACK_NAME,
    policies=POLICIES,
    enforcement_level=EnforcementLevel.ADVISORY,
    description=PACK_DESCRIPTION,
    provider="azure",
    tags=["azure", "api-management", "azure-openai", "genai-gateway"],
)
