#!/usr/bin/env bash
# The test command (CI runs this through .ci/run): install what the suite needs, then run all of it, the slow
# end-to-end tests included (a plain `pytest` leaves those out: see pytest.ini).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ]; then
    # real offline data for the training tests and the demo (Debian package; needs root or sudo)
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq dataset-fashion-mnist
fi
python -m pip install -q -e ".[test]"
python -m pytest -q tests -m "slow or not slow" "$@"
