"""The discovery half of a Kubernetes API server, for `kubectl apply --dry-run=client`.

kubectl maps each document's apiVersion and kind to a resource through the server's discovery
documents even when it changes nothing, and a client dry run asks for the object first (to
patch it) and creates it when that is 404. This answers the discovery of the kinds
`baton export` writes, 404 for every object, and 405 for any write, which a dry run must never
send. Usage: kube_discovery.py PORT (listens on 127.0.0.1 only).
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(sys.argv[1])

def resources(group_version, entries):
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version,
            "resources": [{"name": name, "singularName": name[:-1], "namespaced": namespaced, "kind": kind,
                           "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]}
                          for name, kind, namespaced in entries]}

def group(name, version):
    gv = {"groupVersion": name + "/" + version, "version": version}
    return {"name": name, "versions": [gv], "preferredVersion": gv}

DOCUMENTS = {
    "/api": {"kind": "APIVersions", "versions": ["v1"],
             "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:%d" % PORT}]},
    "/apis": {"kind": "APIGroupList", "apiVersion": "v1",
              "groups": [group("apps", "v1"), group("networking.k8s.io", "v1")]},
    "/api/v1": resources("v1", [("services", "Service", True), ("secrets", "Secret", True),
                                ("persistentvolumeclaims", "PersistentVolumeClaim", True), ("namespaces", "Namespace", False)]),
    "/apis/apps/v1": resources("apps/v1", [("deployments", "Deployment", True)]),
    "/apis/networking.k8s.io/v1": resources("networking.k8s.io/v1", [("ingresses", "Ingress", True),
                                                                   ("networkpolicies", "NetworkPolicy", True)]),
}

class Handler(BaseHTTPRequestHandler):
    def answer(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path = self.path.split("?")[0]
        if path in DOCUMENTS:
            self.answer(200, DOCUMENTS[path])
        else:
            self.answer(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound",
                              "message": path + " not found", "code": 404})

    def refuse(self):
        sys.stderr.write("WRITE %s %s\n" % (self.command, self.path))
        sys.stderr.flush()
        self.answer(405, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 405, "message": "read-only stub"})

    do_POST = do_PUT = do_PATCH = do_DELETE = refuse

    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
