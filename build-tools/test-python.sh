#!/usr/bin/env bash
# pytest for the ML scripts with an interpreter that has the SageMaker containers' package versions.
set -euo pipefail
PYTHON="${PYTHON:-/usr/bin/python3}"
"$PYTHON" build-tools/check-python.py
exec "$PYTHON" -m pytest test/ml -q -p no:cacheprovider --junitxml=test-reports/pytest.xml
