"""The API's operations, from the pinned OpenAPI document the plan's API imports, kept in the repository.

`Api.value` in the plan is a raw.githubusercontent.com URL pinned to a commit of Azure/azure-rest-api-specs
(components/openai_api.py, OPENAI_SPEC_URL). APIM creates one operation per path and method of that document,
with the path as URL template relative to the API path. The emulator never fetches the URL: it reads
specs/<name>.operations.json, the operations of that exact document (operation id, method, path: facts, not the
document's text), and refuses a plan whose API imports a document not kept here. tests/test_emulator.py pins the
kept file by its source URL and SHA-256; `python -m tools.emulator.specs` (network needed) compares it with the
pinned document itself.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SPECS_DIR = Path(__file__).with_name("specs")


class SpecError(Exception):
    pass


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    url_template: str
    pattern: re.Pattern[str]
    parameters: tuple[str, ...]

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if method.upper() != self.method:
            return None
        found = self.pattern.fullmatch(path)
        return None if found is None else {p: found.group(i + 1) for i, p in enumerate(self.parameters)}


def _operation(entry: dict[str, str]) -> Operation:
    template = entry["urlTemplate"]
    parameters = tuple(re.findall(r"\{([^}]+)\}", template))
    # A template parameter matches one path segment (https://learn.microsoft.com/azure/api-management/
    # add-api-manually#add-and-test-a-parameterized-operation).
    regex = re.sub(r"\\\{[^}]+\\\}", "([^/]+)", re.escape(template))
    return Operation(entry["operationId"], entry["method"].upper(), template, re.compile(regex), parameters)


@cache
def _index() -> dict[str, Path]:
    index = {}
    for path in sorted(SPECS_DIR.glob("*.operations.json")):
        index[json.loads(path.read_text())["source"]] = path
    return index


def operations_for(spec_url: str) -> tuple[Operation, ...]:
    """The operations APIM would create from importing spec_url."""
    path = _index().get(spec_url)
    if path is None:
        known = ", ".join(sorted(_index())) or "none"
        raise SpecError(f"the API imports {spec_url!r}, which tools/emulator/specs/ does not keep (kept: {known})")
    document = json.loads(path.read_text())
    return tuple(_operation(e) for e in document["operations"])


def match(operations: tuple[Operation, ...], method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
    """The operation a request path (relative to the API path, starting with /) selects, and its parameters."""
    for operation in operations:
        params = operation.match(method, path)
        if params is not None:
            return operation, params
    return None


def extract(document: dict[str, object]) -> list[dict[str, str]]:
    """The operations of an OpenAPI document, in the kept file's shape."""
    methods = ("get", "put", "post", "delete", "patch", "head", "options")
    paths = document.get("paths")
    assert isinstance(paths, dict)
    return [
        {"operationId": str(op.get("operationId", "")), "method": method.upper(), "urlTemplate": path}
        for path, item in paths.items()
        for method, op in item.items()
        if method in methods and isinstance(op, dict)
    ]


def verify(timeout: float = 30.0) -> int:
    """`python -m tools.emulator.specs`: fetches each pinned document (needs the network) and compares its
    operations with the kept ones. Exit 0 when they match."""
    import urllib.request

    failed = 0
    for source, path in _index().items():
        with urllib.request.urlopen(source, timeout=timeout) as response:
            live = extract(json.loads(response.read()))
        kept = json.loads(path.read_text())["operations"]
        same = sorted(map(json.dumps, live)) == sorted(map(json.dumps, kept))
        failed += not same
        print(f"{'OK ' if same else 'DIFFERENT'} {path.name} <- {source}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(verify())
