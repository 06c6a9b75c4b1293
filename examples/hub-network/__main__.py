"""The gateway program itself, run for this folder's example stack (Pulumi.hub.yaml)."""

import runpy
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")
