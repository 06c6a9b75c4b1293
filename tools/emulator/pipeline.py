"""The policy pipeline: scopes, sections, `<base />`, include-fragment, errors and on-error.

Semantics from "Policies in Azure API Management" (https://learn.microsoft.com/azure/api-management/
api-management-howto-policies) and "Error handling in API Management policies"
(https://learn.microsoft.com/azure/api-management/api-management-error-handling-policies):
- the effective policy of a request nests scopes, innermost first: operation, API, product, global; `<base />`
  in a section runs the same section of the next outer scope (a plan has no operation policies, so the API
  policy runs first, its `<base />` runs the product's section, whose `<base />` runs the global one: the
  plan's service policy, or APIM's default, whose backend section is `<forward-request />`);
- sections run in order inbound, backend, outbound; an error in any of them stops that section and runs the
  on-error section (with context.LastError set), whose result is the response;
- `return-response` stops the pipeline at once and answers with the response it built.
Every element of every document is checked when the emulator starts: one it does not implement is an error that
names it, never a silent skip.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lxml import etree

from tools.rawxml import to_wellformed

from . import tokens
from .context import Headers, LastError, RequestState, Response
from .expressions import ExpressionError, HostPool, is_expression

if TYPE_CHECKING:
    from .gateway import Gateway

SECTIONS = ("inbound", "backend", "outbound", "on-error")
# The global (service) policy APIM has until one is set: forward every request to the backend.
DEFAULT_SERVICE_POLICY = (
    "<policies><inbound /><backend><forward-request /></backend><outbound /><on-error /></policies>"
)
NAMED_VALUE = re.compile(r"\{\{([A-Za-z0-9._-]+)\}\}")


class EmulatorError(Exception):
    """The plan holds something the emulator cannot run (an unknown element, a missing fragment, ...)."""


class PolicyFailure(Exception):
    """A policy failed or refused the request: APIM sets the response and runs on-error (LastError)."""

    def __init__(
        self,
        source: str,
        reason: str,
        message: str,
        status: int = 500,
        headers: dict[str, str] | None = None,
        body: str | None = None,
    ) -> None:
        super().__init__(f"{source}: {reason}: {message}")
        self.source, self.reason, self.message = source, reason, message
        self.status, self.headers, self.body = status, headers or {}, body


class ReturnResponse(Exception):
    """return-response: the pipeline stops and the caller gets state.response."""


class ShortCircuit(Exception):
    """A cache hit: the rest of inbound and the backend section are skipped; outbound runs."""


@dataclass(frozen=True)
class Handler:
    run: Callable[[Executor, etree._Element, RequestState, int], None]
    children: frozenset[str] | None  # allowed child elements; None = child policies (a container)
    sections: frozenset[str]


HANDLERS: dict[str, Handler] = {}


def policy(
    name: str, *, sections: tuple[str, ...] = SECTIONS, children: tuple[str, ...] | None = ()
) -> Callable[..., Any]:
    """Registers the implementation of one policy element."""

    def register(function: Callable[[Executor, etree._Element, RequestState, int], None]) -> Any:
        HANDLERS[name] = Handler(function, None if children is None else frozenset(children), frozenset(sections))
        return function

    return register


@dataclass
class Document:
    name: str
    root: etree._Element


@dataclass
class Documents:
    """The plan's policy documents, parsed once with named values substituted, and their expressions."""

    apis: dict[str, Document]
    products: dict[str, Document]
    fragments: dict[str, Document]
    service: Document
    keys: dict[tuple[int, str], str] = field(default_factory=dict)  # (element id, attribute or "#text") -> key
    code: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (code, C# return type)
    _pins: list[etree._Element] = field(default_factory=list)

    @classmethod
    def load(
        cls,
        service_policy: str | None,
        api_policies: dict[str, str | None],
        product_policies: dict[str, str | None],
        fragments: dict[str, str],
        named_values: dict[str, str],
    ) -> Documents:
        def parse(name: str, text: str) -> Document:
            def substitute(match: re.Match[str]) -> str:
                if match.group(1) not in named_values:
                    raise EmulatorError(f"{name}: named value {{{{{match.group(1)}}}}} is not in the plan")
                return named_values[match.group(1)]

            try:
                # rawxml documents hold expressions as written; escape them as APIM does before parsing.
                root = etree.fromstring(to_wellformed(NAMED_VALUE.sub(substitute, text)).encode())
            except etree.XMLSyntaxError as error:
                raise EmulatorError(f"{name}: not well-formed XML: {error}") from None
            return Document(name, root)

        docs = cls(
            service=parse("service", service_policy or DEFAULT_SERVICE_POLICY),
            apis={aid: parse(f"api:{aid}", text) for aid, text in api_policies.items() if text},
            products={pid: parse(f"product:{pid}", text) for pid, text in product_policies.items() if text},
            fragments={fid: parse(f"fragment:{fid}", text) for fid, text in fragments.items()},
        )
        for document in docs.all():
            docs._index(document)
        return docs

    def all(self) -> list[Document]:
        return [self.service, *self.apis.values(), *self.products.values(), *self.fragments.values()]

    def _index(self, document: Document) -> None:
        for element in document.root.iter():
            if not isinstance(element.tag, str):
                continue
            path = document.root.getroottree().getpath(element)
            for attribute, value in element.attrib.items():
                if is_expression(value):
                    self._add(
                        element,
                        attribute,
                        f"{document.name}{path}@{attribute}",
                        value,
                        "bool" if attribute == "condition" else "object",
                    )
            if len(element) == 0 and is_expression(element.text):
                self._add(element, "#text", f"{document.name}{path}#text", element.text or "", "object")

    def _add(self, element: etree._Element, slot: str, key: str, code: str, returns: str) -> None:
        self._pins.append(element)  # keeps lxml's proxy (and so id()) stable
        self.keys[(id(element), slot)] = key
        self.code[key] = (code.strip(), returns)

    def check(self) -> None:
        """Every element of every document is one the emulator implements, in a section APIM allows."""
        roots = [d for d in self.all() if not d.name.startswith("fragment:")]
        for document in roots:
            if document.root.tag != "policies":
                raise EmulatorError(f"{document.name}: the root element must be <policies>")
            for section in document.root:
                if not isinstance(section.tag, str):
                    continue
                if section.tag not in SECTIONS:
                    raise EmulatorError(f"{document.name}: <{section.tag}> is not a policy section")
                self._check_children(document.name, section, section.tag)

    def _check_children(self, where: str, parent: etree._Element, section: str) -> None:
        for element in parent:
            if not isinstance(element.tag, str):
                continue
            tag = element.tag
            if tag == "base":
                continue
            if tag == "include-fragment":
                fid = element.get("fragment-id", "")
                if fid not in self.fragments:
                    raise EmulatorError(f"{where}: include-fragment names fragment {fid!r}, which the plan lacks")
                self._check_children(f"fragment:{fid}", self.fragments[fid].root, section)
                continue
            handler = HANDLERS.get(tag)
            if handler is None:
                raise EmulatorError(f"{where}: the emulator does not implement the <{tag}> policy")
            if section not in handler.sections:
                raise EmulatorError(f"{where}: <{tag}> is not allowed in the {section} section")
            if tag == "choose":
                for branch in element:
                    if isinstance(branch.tag, str):
                        if branch.tag not in ("when", "otherwise"):
                            raise EmulatorError(f"{where}: <choose> holds <{branch.tag}>")
                        self._check_children(where, branch, section)
            elif handler.children is None:
                self._check_children(where, element, section)
            else:
                for child in element:
                    if isinstance(child.tag, str) and child.tag not in handler.children:
                        raise EmulatorError(f"{where}: <{tag}> holds <{child.tag}>, which the emulator does not know")


class Executor:
    """Runs one request through the documents."""

    def __init__(self, gateway: Gateway, documents: Documents, host: HostPool) -> None:
        self.gateway = gateway
        self.documents = documents
        self.host = host

    # -- expressions --------------------------------------------------------------------------------
    def evaluate(self, element: etree._Element, slot: str, state: RequestState) -> Any:
        key = self.documents.keys[(id(element), slot)]
        elapsed = (self.gateway.clock.now() - state.timestamp).total_seconds() * 1000.0
        try:
            value, consumed = self.host.evaluate(
                key, state.request_id, state.parts(self.gateway.model), state.variables, elapsed
            )
        except ExpressionError as error:
            raise PolicyFailure(element.tag, "ExpressionValueEvaluationFailure", f"{key}: {error}") from None
        if "request" in consumed:
            state.request.consumed = True
        if "response" in consumed and state.response is not None:
            state.response.consumed = True
        if "read:response" in consumed and state.response is not None and state.response.chunks is not None:
            # Reading a streamed body buffers it: the caller gets the whole answer at once, not a stream.
            state.response.body = b"".join(state.response.chunks).decode("utf-8", "replace")
            state.response.chunks = None
            state.warnings.append(f"{key} read the streamed response body: the stream was buffered")
        return value

    def attr(self, element: etree._Element, name: str, state: RequestState, default: Any = None) -> Any:
        """An attribute's value: the expression's result, or the literal text."""
        raw = element.get(name)
        if raw is None:
            return default
        if (id(element), name) in self.documents.keys:
            return self.evaluate(element, name, state)
        return raw

    def text(self, element: etree._Element, state: RequestState) -> Any:
        if (id(element), "#text") in self.documents.keys:
            return self.evaluate(element, "#text", state)
        return element.text or ""

    # -- scopes and sections --------------------------------------------------------------------------
    def scopes(self, state: RequestState) -> list[etree._Element | None]:
        """Innermost first: the API policy, then the product's, then the global policy."""
        api = self.documents.apis.get(state.api.api_id) if state.api is not None else None
        chain: list[etree._Element | None] = [api.root if api else None]
        product = self.documents.products.get(state.product.product_id) if state.product is not None else None
        chain.append(product.root if product else None)
        chain.append(self.documents.service.root)
        return chain

    def run_section(
        self, state: RequestState, section: str, chain: list[etree._Element | None], level: int = 0
    ) -> None:
        if level >= len(chain):
            return  # <base /> of the global scope: nothing above it
        root = chain[level]
        element = root.find(section) if root is not None else None
        if element is None:
            # A scope without this section inherits the outer one, as <base /> would.
            self.run_section(state, section, chain, level + 1)
            return
        self.run_children(element, state, chain, level)

    def run_children(
        self, parent: etree._Element, state: RequestState, chain: list[etree._Element | None], level: int
    ) -> None:
        for element in parent:
            if not isinstance(element.tag, str):
                continue
            if element.tag == "base":
                self.run_section(state, state.section, chain, level + 1)
            elif element.tag == "include-fragment":
                # https://learn.microsoft.com/azure/api-management/include-fragment-policy: the fragment's
                # policies run in place, in the section that includes it.
                fragment = self.documents.fragments[element.get("fragment-id", "")]
                self.run_children(fragment.root, state, chain, level)
            else:
                try:
                    HANDLERS[element.tag].run(self, element, state, level)
                except (ValueError, TypeError, KeyError) as error:
                    # A policy that cannot do its work is an error of that policy (LastError.Source).
                    raise PolicyFailure(element.tag, "PolicyError", str(error)) from None

    # -- the request ----------------------------------------------------------------------------------
    def run(self, state: RequestState) -> Response:
        chain = self.scopes(state)
        state.chain = chain
        try:
            try:
                state.section = "inbound"
                self.run_section(state, "inbound", chain)
                state.section = "backend"
                self.run_section(state, "backend", chain)
            except ShortCircuit:
                pass
            state.section = "outbound"
            if state.response is None:
                raise PolicyFailure("forward-request", "NoResponse", "the backend section forwarded nothing", 500)
            if state.response.chunks is None:
                counts = tokens.response_counts(state.request.body, state.response)
                for received in state.on_response:
                    received(counts)
            self.run_section(state, "outbound", chain)
        except ReturnResponse:
            pass
        except PolicyFailure as failure:
            self.on_error(state, failure, chain)
        assert state.response is not None
        return state.response

    def on_error(self, state: RequestState, failure: PolicyFailure, chain: list[etree._Element | None]) -> None:
        state.last_error = LastError(failure.source, failure.reason, failure.message, state.section)
        headers = Headers([("Content-Type", "application/json")] if failure.body else [])
        for name, value in failure.headers.items():
            headers.set(name, [value])
        state.response = Response(
            headers=headers,
            body=failure.body or "",
            status=failure.status,
            reason=_REASONS.get(failure.status, "Error"),
        )
        state.section = "on-error"
        try:
            self.run_section(state, "on-error", chain)
        except ReturnResponse:
            pass
        except PolicyFailure as second:
            # An error inside on-error: APIM answers 500 without running on-error again.
            state.response = Response(headers=Headers(), body="", status=500, reason="Internal Server Error")
            state.warnings.append(f"error in on-error: {second}")

    def run_retry_body(self, element: etree._Element, state: RequestState, level: int) -> None:
        self.run_children(element, state, state.chain, level)


_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def reason_phrase(status: int) -> str:
    return _REASONS.get(status, "OK" if status < 300 else "Error")


def monotonic_ms() -> float:
    return time.perf_counter() * 1000.0
