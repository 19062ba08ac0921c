# Shared set-up for scripts/serve and scripts/test: a virtualenv in .venv with both
# distributions installed (editable): the client (clients/python: SDK, CLI, public
# generated code) and the server (this directory), which depends on it; reinstalled only
# when either pyproject.toml changes.
# Usage: source scripts/bootstrap.sh <extras>   (extras: "" or "test")
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
extras="${1:-}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
fi
spec="."
[ -n "$extras" ] && spec=".[${extras}]"
stamp=".venv/.installed-${extras:-runtime}"
want="$(cat pyproject.toml clients/python/pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "installing Python packages ($spec) into .venv ..." >&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check \
    -e ./clients/python -e "$spec"
  echo "$want" > "$stamp"
fi
