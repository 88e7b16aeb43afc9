"""The notebook tests import their shared environment rules (notebook_env.py) by name."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
