"""Checks that this interpreter has the ML packages at the SageMaker containers' versions, and says how to get them."""
import importlib
import sys

# Versions the sklearn 1.2-1 and xgboost 1.7-1 containers run (ml/requirements.txt pins them).
EXPECTED = {"sklearn": "1.2", "xgboost": "1.7", "pandas": "1.5", "pytest": None}
problems = []
for module, prefix in EXPECTED.items():
    try:
        version = importlib.import_module(module).__version__
    except ImportError:
        problems.append(f"{module} is not installed for {sys.executable}")
        continue
    if prefix and not version.startswith(prefix):
        problems.append(f"{module} {version} found, {prefix}.x expected (the SageMaker container's version)")
if problems:
    print("The ML tests need scikit-learn 1.2, xgboost 1.7, pandas 1.5 and pytest:", file=sys.stderr)
    for p in problems:
        print(f"  - {p}", file=sys.stderr)
    print("Install them with `apt-get install python3-sklearn python3-xgboost python3-pandas python3-pytest` (Debian 12)"
          " or `pip install -r ml/requirements.txt pytest`, and point PYTHON at that interpreter.", file=sys.stderr)
    sys.exit(1)
