"""`python -m tools.emulate <stack> [--port 8080] [--host 127.0.0.1]`: the stack's gateway, emulated locally.

Plans the stack afresh from its stack file and the program (or reads `--plan FILE`), starts the emulated
gateway with the stack's API path (`AzureOpenAI(azure_endpoint="http://127.0.0.1:<port>", api_key=<key>,
api_version=...)` works unchanged), prints the consumers and the control API, and serves until interrupted.
See tools/emulator/server.py.
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

from tools.emulator.gateway import Gateway
from tools.emulator.model import PlanError
from tools.emulator.pipeline import EmulatorError
from tools.emulator.server import EmulatorServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.emulate", description=__doc__.splitlines()[0])
    parser.add_argument("stack")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--host", default="127.0.0.1", choices=("127.0.0.1", "localhost", "::1"))
    parser.add_argument(
        "--plan", type=Path, default=None, metavar="FILE", help="a plan document to run instead of planning now"
    )
    args = parser.parse_args(argv)
    try:
        gateway = Gateway.for_stack(args.stack, plan_file=args.plan)
        server = EmulatorServer(gateway, args.host, args.port)
    except (PlanError, EmulatorError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    model = gateway.model
    print(f"Emulated gateway of stack {args.stack}: {server.url}/{model.primary_api.path}")
    for api in sorted(model.apis.values(), key=lambda a: a.path):
        key = "key required" if api.subscription_required else "key optional"
        print(f"  API {api.api_id}: {server.url}/{api.path} ({key})")
    print("Consumers (keys: GET /_emulator/subscriptions):")
    for sid, subscription in sorted(model.subscriptions.items()):
        product = model.products.get(subscription.scope_id)
        print(f"  {sid.removesuffix('-key'):24} product {product.product_id if product else subscription.scope_id}")
    print(
        f"Control API: {server.url}/_emulator/ (subscriptions, backends, usage-records, llm-logs, metrics, clock, "
        "reset, entra-token, content-safety, ingress)"
    )
    server.start()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
