# Moved to tests/lib/cli.sh (code does not belong in tests/data): only
# tests/cli-secrets.test.sh still sources this path; delete this file once
# it sources tests/lib/cli.sh.
. "$2/tests/lib/cli.sh" "$@"
