#!/usr/bin/env bash
# Slither over every deployable contract in contracts/src, compiled by the repository's
# solcjs (no native solc download: tests/reliability/slither/solc is a solc CLI stand-in).
# Needs slither in a throwaway venv:  python3 -m venv /tmp/slither && \
#   /tmp/slither/bin/pip install slither-analyzer ; then: tests/reliability/slither/run.sh
set -euo pipefail
cd "$(dirname "$0")/../../.."
SLITHER=${SLITHER:-/tmp/slither/bin/slither}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
{
  echo "// SPDX-License-Identifier: Apache-2.0"
  echo "pragma solidity ^0.8.28;"
  find contracts/src -name '*.sol' -not -path '*/testing/*' -not -path '*/interfaces/*' \
    -not -path '*/lib/*' | sort | sed 's/.*/import "&";/'
} > "$work/All.sol"
"$SLITHER" "$work/All.sol" --solc "$PWD/tests/reliability/slither/solc" \
  --solc-remaps "@openzeppelin/=node_modules/@openzeppelin/" --compile-force-framework solc \
  --filter-paths node_modules "$@"
