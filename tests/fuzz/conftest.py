"""The fuzzer's modules (modelgen, harness, minimise, cli_case) import each other by name,
as tests/fuzz/run.py runs them; pytest's importlib mode needs their directory on the path."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
