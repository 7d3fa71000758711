#!/bin/sh
# kubectl_dry_run.sh PORT FILE: `kubectl apply --dry-run=client --validate=false -f FILE`
# against kube_discovery.py on 127.0.0.1:PORT, started here and stopped on exit, with a
# kubeconfig and cache of its own. Prints kubectl's output, then any write the stub refused.
set -u
port=$1
file=$2
here=$(dirname "$0")
work=$(mktemp -d /tmp/kubectl-check-XXXXXX)
/usr/bin/python3 "$here/kube_discovery.py" "$port" </dev/null >/dev/null 2>"$work/stub.log" &
stub=$!
trap 'kill $stub 2>/dev/null; wait $stub 2>/dev/null; rm -rf "$work"' EXIT
# Up within 30 s (a liveness bound), else kubectl reports that it cannot connect.
i=0
while [ $i -lt 300 ] && ! /usr/bin/python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null; do
  sleep 0.1
  i=$((i + 1))
done
cat >"$work/kubeconfig" <<CONFIG
apiVersion: v1
kind: Config
clusters: [{name: stub, cluster: {server: "http://127.0.0.1:$port"}}]
users: [{name: stub, user: {}}]
contexts: [{name: stub, context: {cluster: stub, user: stub, namespace: default}}]
current-context: stub
CONFIG
KUBECONFIG="$work/kubeconfig" HOME="$work" /usr/bin/kubectl apply --dry-run=client --validate=false \
  --cache-dir "$work/cache" -f "$file" </dev/null 2>&1
status=$?
cat "$work/stub.log"
exit $status
