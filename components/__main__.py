"""Provider plugin entry point: Pulumi runs `python <this directory>` for `pulumi package add`."""

import sys
from pathlib import Path

try:
    from components.provider import serve
except ImportError:
    # Run from a checkout (not pip-installed): the package is this directory, importable from its parent.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from components.provider import serve

if __name__ == "__main__":
    serve()
