#!/bin/sh
# Run CMD with NEO4J_URI set: starts the local Neo4j unless NEO4J_URI is already set, stops it
# afterwards (also when CMD fails) and exits with CMD's exit code. CMD gets NEO4J_USER and
# NEO4J_PASSWORD with it (the password in the data folder, e.g. var/neo4j/password). With
# CASEWISE_NEO4J_TLS=on the server takes Bolt over TLS only: NEO4J_URI is bolt+s://... and
# CASEWISE_NEO4J_CA_FILE names its self-signed certificate. See docs/neo4j.md.
#   tools/neo4j/with-neo4j.sh [--port N] [--] CMD [ARG...]
root=$(cd "$(dirname "$0")/../.." && pwd)
python=${PYTHON:-$root/.venv/bin/python}
[ -x "$python" ] || python=python3
PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}" exec "$python" -m service.devtools.localneo4j run "$@"
