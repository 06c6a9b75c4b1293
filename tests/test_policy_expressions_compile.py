"""Every policy expression the stacks render compiles as C# 7 against the typed model of APIM's context.

The policy lint parses expressions; this compiles them (tools/csharp, Mono's mcs), so a wrong member, type or
missing return in the runtime logic of the fragments (error contract, usage record, adaptive limit, content
safety) fails here, not on the gateway. Expressions are read as APIM reads rawxml: attribute values are
XML-normalised (line breaks become spaces), which is also why no expression may hold a `//` comment.
"""

from __future__ import annotations

import re

from lxml import etree

from tools.csharp.compiler import Expression, compile_expressions
from tools.harness import Recording
from tools.rawxml import to_wellformed

DOCUMENTS = (
    "azure-native:apimanagement:PolicyFragment",
    "azure-native:apimanagement:ApiPolicy",
    "azure-native:apimanagement:ProductPolicy",
)


def expressions(recording: Recording) -> list[Expression]:
    found = []
    for token in DOCUMENTS:
        for resource in recording.of_type(token):
            value = re.sub(r"\{\{[^}]+\}\}", "named-value", resource.get("value"))
            root = etree.fromstring(to_wellformed(value).encode())
            for element in root.iter():
                texts = [*element.attrib.values(), *([element.text] if element.text else [])]
                for text in (t.strip() for t in texts):
                    if text.startswith(("@(", "@{")):
                        found.append(Expression(f"{recording.stack}:{resource.name}:{len(found)}", text, "object"))
    return found


def test_no_expression_attribute_holds_a_line_comment(stack: Recording) -> None:
    for token in DOCUMENTS:
        for resource in stack.of_type(token):
            root = etree.fromstring(to_wellformed(resource.get("value")).encode())
            for element in root.iter():
                for value in element.attrib.values():
                    if value.strip().startswith("@"):
                        assert not re.search(r"(?<![:\"@])//", value), (resource.name, value[:80])


def test_every_rendered_expression_compiles(dev: Recording, prod: Recording) -> None:
    every = expressions(dev) + expressions(prod)
    assert len(every) > 100
    result = compile_expressions(every)
    by_key = {e.key: e.code for e in every}
    problems = [
        f"{e.key} {e.line}:{e.column} {e.message} in {by_key.get(e.key or '', '')[:120]}" for e in result.errors
    ]
    assert problems == []
