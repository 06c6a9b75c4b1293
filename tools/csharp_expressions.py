"""C# checks for APIM policy expressions (`@(...)` and `@{...}`), with tree-sitter-c-sharp.

What it adds next to the C# compiler (tools/csharp/compiler.py, which proves the expression type-checks
against APIM's context): the allow-list, which a compiler with the full .NET library cannot enforce, and the
syntax check when Mono is not installed (the plan then says expressions were only parsed). Two checks:
- the expression parses as C# (only without the compiler): `@(expr)` is wrapped as `return (expr);` and
  `@{ statements }` as a method body inside a tiny class; any ERROR or MISSING node in the tree is a problem;
- every name that is not a member (`x.Name`), a declared local, a lambda parameter or `context` must be a type
  from the APIM allow-list (the reference's table in tools/csharp/ApimContext.cs, and the context's own
  types, `context_types` of tools/policy_catalogue.json).
  Qualified names (`System.IO.File`), object creations (`new HttpClient()`), casts, type arguments and the
  roots of member-access chains are all checked this way.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache

import tree_sitter
import tree_sitter_c_sharp

# Lines before the code inside each wrapper; expression line = tree row - prefix lines + 1.
_SINGLE_PREFIX = "class __ApimExpression {\nobject __Evaluate() {\nreturn (\n"
_SINGLE_SUFFIX = "\n);\n}\n}\n"
_MULTI_PREFIX = "class __ApimExpression {\nobject __Evaluate() {\n"
_MULTI_SUFFIX = "\n}\n}\n"

# IMessageBody.As<T>: "Where T: string, byte[], JObject, JToken, JArray, XNode, XElement, XDocument"
# (https://learn.microsoft.com/azure/api-management/api-management-policy-expressions#ref-imessagebody).
# C# cannot state that as a constraint, so the model's As<T> accepts any T and this check holds the list.
BODY_TYPES = frozenset({"string", "byte[]", "JObject", "JToken", "JArray", "XNode", "XElement", "XDocument"})
_BODY_TYPE_NAMESPACES = ("System.Xml.Linq.", "Newtonsoft.Json.Linq.", "System.")  # longest first

# Identifiers that are keywords in context, not names to resolve.
_CONTEXTUAL_KEYWORDS = frozenset({"var", "dynamic", "nameof", "_"})

# Nodes whose identifier child (by field) declares a local name.
_DECLARING_FIELDS = {
    "variable_declarator": "name",
    "parameter": "name",
    "foreach_statement": "left",
    "catch_declaration": "name",
    "declaration_expression": "name",
    "declaration_pattern": "name",
    "from_clause": "name",
    "join_clause": "name",
    "local_function_statement": "name",
    "query_continuation": "name",
}


@dataclass(frozen=True)
class ExpressionProblem:
    line: int  # 1-based, within the expression's code
    message: str


@cache
def _parser() -> tree_sitter.Parser:
    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_c_sharp.language()))


@dataclass(frozen=True)
class TypeAllowList:
    """Allowed .NET types, by full name (`System.Text.Encoding`) and by simple name (`Encoding`)."""

    full_names: frozenset[str]
    simple_names: frozenset[str]
    namespace_roots: frozenset[str]

    @classmethod
    def from_names(cls, names: Iterable[str]) -> TypeAllowList:
        full: set[str] = set()
        simple: set[str] = set()
        roots: set[str] = set()
        for raw in names:
            name = raw.split("<", 1)[0].strip()  # Dictionary<TKey, TValue> -> Dictionary
            full.add(name)
            parts = name.split(".")
            simple.add(parts[-1])
            if len(parts) > 1:
                roots.add(parts[0])
                # Nested types are reachable through their declaring type: TimeZoneInfo.AdjustmentRule.
                for i in range(1, len(parts)):
                    if parts[i - 1][:1].isupper() and parts[i][:1].isupper() and ".".join(parts[:i]) in full:
                        simple.add(".".join(parts[i - 1 :]))
        return cls(frozenset(full), frozenset(simple), frozenset(roots))

    def allows(self, chain: list[str]) -> bool:
        if chain[0] in self.simple_names:
            return True
        return any(".".join(chain[:n]) in self.full_names for n in range(2, len(chain) + 1))


def check_expression(
    code: str, multi_statement: bool, allowed: TypeAllowList, *, syntax: bool = True
) -> list[ExpressionProblem]:
    """Problems of one expression's code (without the `@(`/`)` or `@{`/`}` delimiters); empty when fine.

    `syntax` False: only the allow-list (the C# compiler checks syntax and `return` paths, with better
    messages); an expression that does not parse is then left to the compiler entirely."""
    prefix, suffix = (_MULTI_PREFIX, _MULTI_SUFFIX) if multi_statement else (_SINGLE_PREFIX, _SINGLE_SUFFIX)
    offset = prefix.count("\n")
    source = (prefix + code + suffix).encode()
    tree = _parser().parse(source)
    if not syntax:
        if tree.root_node.has_error:
            return []
        return _type_problems(tree.root_node, offset, allowed) + _body_type_problems(tree.root_node, offset)
    found = _syntax_problems(tree.root_node, offset, source)
    if found:
        return found[:1]
    problems: list[ExpressionProblem] = []
    if not code.strip():
        return [ExpressionProblem(1, "empty expression")]
    if multi_statement and not any(n.type == "return_statement" for n in _walk(tree.root_node)):
        problems.append(ExpressionProblem(1, "a multi-statement expression must end every code path with `return`"))
    problems.extend(_type_problems(tree.root_node, offset, allowed))
    problems.extend(_body_type_problems(tree.root_node, offset))
    return problems


def _body_type_problems(root: tree_sitter.Node, offset: int) -> list[ExpressionProblem]:
    """`<something>.Body.As<T>(...)` with a T the reference does not list."""
    problems = []
    for node in _walk(root):
        if node.type != "member_access_expression":
            continue
        name, target = node.child_by_field_name("name"), node.child_by_field_name("expression")
        if name is None or target is None or name.type != "generic_name" or _unit_name(name) != "As":
            continue
        if not _text(target).replace(" ", "").endswith(".Body"):
            continue
        arguments = next((c for c in name.children if c.type == "type_argument_list"), None)
        for argument in [] if arguments is None else [c for c in arguments.named_children]:
            written = "".join(_text(argument).split())
            namespace = next((n for n in _BODY_TYPE_NAMESPACES if written.startswith(n)), "")
            simple = {"String": "string", "Byte[]": "byte[]"}.get(written[len(namespace) :], written[len(namespace) :])
            if simple not in BODY_TYPES:
                problems.append(
                    ExpressionProblem(
                        max(1, node.start_point.row - offset + 1),
                        f"`Body.As<{written}>`: APIM reads a body only as {', '.join(sorted(BODY_TYPES))}",
                    )
                )
    return problems


def _walk(node: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    yield node
    for child in node.children:
        yield from _walk(child)


def _text(node: tree_sitter.Node) -> str:
    return (node.text or b"").decode(errors="replace")


def _syntax_problems(root: tree_sitter.Node, offset: int, source: bytes) -> list[ExpressionProblem]:
    problems = []
    for node in _walk(root):
        line = max(1, node.start_point.row - offset + 1)
        zero_width_error = node.has_error and node.child_count == 0 and node.start_byte == node.end_byte
        if node.is_missing or zero_width_error:
            problems.append(ExpressionProblem(line, f"C# syntax error: missing `{node.type}`"))
        elif node.type == "ERROR" or node.is_error:
            snippet = " ".join(_text(node).split())
            if len(snippet) > 40:
                snippet = snippet[:37] + "..."
            problems.append(ExpressionProblem(line, f"C# syntax error near `{snippet}`"))
    if not problems and root.has_error:
        deepest = root
        while True:
            child = next((c for c in deepest.children if c.has_error), None)
            if child is None:
                break
            deepest = child
        line = max(1, deepest.start_point.row - offset + 1)
        problems.append(ExpressionProblem(line, f"C# syntax error in `{' '.join(_text(deepest).split())[:40]}`"))
    return problems


def _declared_names(root: tree_sitter.Node) -> set[str]:
    names: set[str] = set()
    for node in _walk(root):
        field = _DECLARING_FIELDS.get(node.type)
        if field:
            target = node.child_by_field_name(field)
            if target is not None and target.type == "identifier":
                names.add(_text(target))
        if node.type in ("implicit_parameter", "single_variable_designation"):
            names.add(_text(node))
        elif node.type in ("let_clause", "join_into_clause"):
            first = next((c for c in node.children if c.type == "identifier"), None)
            if first is not None:
                names.add(_text(first))
        elif node.type == "lambda_expression":
            params = node.child_by_field_name("parameters")
            if params is not None and params.type == "identifier":
                names.add(_text(params))
        elif node.type == "parenthesized_variable_designation":
            names.update(_text(c) for c in node.children if c.type == "identifier")
    return names


def _field_of(node: tree_sitter.Node) -> str | None:
    parent = node.parent
    if parent is None:
        return None
    for i, child in enumerate(parent.children):
        if child.id == node.id:
            return parent.field_name_for_child(i)
    return None


def _is_declaration_site(node: tree_sitter.Node) -> bool:
    parent = node.parent
    if parent is None:
        return False
    field = _DECLARING_FIELDS.get(parent.type)
    if field and _field_of(node) == field:
        return True
    if parent.type in ("let_clause", "join_into_clause"):
        first = next((c for c in parent.children if c.type == "identifier"), None)
        return first is not None and first.id == node.id
    if parent.type == "lambda_expression" and _field_of(node) == "parameters":
        return True
    return parent.type in ("parenthesized_variable_designation", "class_declaration", "method_declaration")


def _is_member_name(unit: tree_sitter.Node) -> bool:
    """`unit` (an identifier or generic name) names a member, an argument or an initializer target."""
    parent = unit.parent
    if parent is None:
        return False
    field = _field_of(unit)
    if parent.type in ("member_access_expression", "member_binding_expression") and field == "name":
        return True
    if parent.type == "argument" and field == "name":
        return True
    if parent.type in ("name_colon", "name_equals"):
        return True
    if parent.type == "anonymous_object_creation_expression":
        sibling = unit.next_sibling
        return sibling is not None and sibling.type == "="
    if parent.type == "assignment_expression" and field == "left":
        grand = parent.parent
        return grand is not None and grand.type == "initializer_expression"
    return False


def _chain(unit: tree_sitter.Node) -> tuple[list[str], tree_sitter.Node]:
    """The dotted name starting at `unit` (`System.IO.File.ReadAllText`) and its outermost node."""
    names = [_unit_name(unit)]
    node = unit
    while node.parent is not None and node.parent.type in ("member_access_expression", "qualified_name"):
        parent = node.parent
        if _field_of(node) not in ("expression", "qualifier"):
            break
        name = parent.child_by_field_name("name")
        if name is None:
            break
        names.append(_unit_name(name))
        node = parent
    return names, node


def _unit_name(node: tree_sitter.Node) -> str:
    if node.type == "generic_name":
        ident = next((c for c in node.children if c.type == "identifier"), None)
        return _text(ident) if ident is not None else _text(node)
    return _text(node)


def _type_problems(root: tree_sitter.Node, offset: int, allowed: TypeAllowList) -> list[ExpressionProblem]:
    declared = _declared_names(root)
    problems: list[ExpressionProblem] = []
    seen: set[str] = set()
    for node in _walk(root):
        if node.type != "identifier":
            continue
        unit = node.parent if node.parent is not None and node.parent.type == "generic_name" else node
        if unit is node and _is_declaration_site(node):
            continue
        if _is_member_name(unit):
            continue
        parent = unit.parent
        if parent is not None and parent.type == "qualified_name" and _field_of(unit) == "name":
            continue  # checked from the chain's root
        name = _unit_name(unit)
        if name in declared or name == "context" or name in _CONTEXTUAL_KEYWORDS or name.startswith("__apim"):
            continue
        chain, _ = _chain(unit)
        if allowed.allows(chain):
            continue
        dotted = ".".join(chain)
        if dotted in seen:
            continue
        seen.add(dotted)
        line = max(1, node.start_point.row - offset + 1)
        if chain[0] in allowed.namespace_roots or (len(chain) > 1 and chain[0][:1].isupper()):
            problems.append(
                ExpressionProblem(line, f"`{dotted}` uses a .NET type outside the APIM policy-expression allow-list")
            )
        else:
            problems.append(
                ExpressionProblem(
                    line,
                    f"`{name}` is not `context`, a variable declared in the expression, or a type from the APIM "
                    "policy-expression allow-list",
                )
            )
    return problems
