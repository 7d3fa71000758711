#!/usr/bin/python3
"""A registry that lies, for Baton's registry tests (RegistryBadInputTests).

Each repository misbehaves in one way: serves a layer whose bytes do not match its digest,
redirects a download of a repository that needs credentials to another host (and fails if
the credentials follow),
a manifest larger than Baton's limit (with and without Content-Length), a media type that
is not a container image, a schema 1 manifest, a redirect to file://, a layer longer than
its descriptor. Usage: hostile_registry.py PORT (listens on 127.0.0.1)."""
import base64
import hashlib
import http.server
import json
import sys


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


GOOD_LAYER = b"layer bytes the manifest promises\n" * 64
BAD_LAYER = b"LAYER BYTES THE REGISTRY SENDS!!\n\n" * 64
assert len(GOOD_LAYER) == len(BAD_LAYER)
CONFIG = json.dumps({
    "architecture": "amd64", "os": "linux", "config": {},
    "rootfs": {"type": "layers", "diff_ids": [digest(GOOD_LAYER)]},
}).encode()


def manifest(config_type="application/vnd.oci.image.config.v1+json", media_type="application/vnd.oci.image.manifest.v1+json",
             schema=2):
    return json.dumps({
        "schemaVersion": schema, "mediaType": media_type,
        "config": {"mediaType": config_type, "digest": digest(CONFIG), "size": len(CONFIG)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest(GOOD_LAYER), "size": len(GOOD_LAYER)}],
    }).encode()


BIG = b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","pad":"' + b"x" * (5 << 20) + b'"}'


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        sys.stderr.write("%s %s\n" % (self.command, self.path))

    def reply(self, status, body=b"", content_type="application/json", length=True, headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in headers:
            self.send_header(name, value)
        if length:
            self.send_header("Content-Length", str(len(body)))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        path = self.path.split("?")[0]
        if path == "/v2/":
            return self.reply(200, b"{}")
        if path.startswith("/elsewhere/"):
            # Another host (the redirect names "localhost"): credentials must not follow.
            if self.headers.get("Authorization"):
                return self.reply(500, b'{"errors":[{"code":"LEAKED","message":"credentials were sent to another host"}]}')
            return self.reply(200, GOOD_LAYER, "application/octet-stream")
        parts = path.split("/")
        if len(parts) < 6:
            return self.reply(404, b"{}")
        repo, kind, ref = parts[2], parts[4], parts[5]
        if repo == "guarded":
            expected = "Basic " + base64.b64encode(b"u:p").decode()
            if self.headers.get("Authorization") != expected:
                return self.reply(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"log in"}]}',
                                  headers=[("WWW-Authenticate", 'Basic realm="hostile"')])
            if kind == "blobs" and ref == digest(GOOD_LAYER):
                port = self.server.server_address[1]
                return self.reply(307, b"", headers=[("Location", "http://localhost:%d/elsewhere/layer" % port)])
        oci = "application/vnd.oci.image.manifest.v1+json"
        if kind == "manifests":
            if repo == "big":
                return self.reply(200, BIG, oci)
            if repo == "big-unsized":
                return self.reply(200, BIG, oci, length=False)
            if repo == "helm":
                return self.reply(200, manifest(config_type="application/vnd.cncf.helm.config.v1+json"), oci)
            if repo == "schema1":
                body = manifest(media_type="application/vnd.docker.distribution.manifest.v1+prettyjws", schema=1)
                return self.reply(200, body, "application/vnd.docker.distribution.manifest.v1+prettyjws")
            return self.reply(200, manifest(), oci)
        if kind == "blobs":
            if ref == digest(CONFIG):
                return self.reply(200, CONFIG, "application/octet-stream")
            if ref == digest(GOOD_LAYER):
                if repo == "redirect":
                    return self.reply(307, b"", headers=[("Location", "file:///etc/passwd")])
                if repo == "long":
                    return self.reply(200, GOOD_LAYER + b"and more", "application/octet-stream")
                return self.reply(200, BAD_LAYER, "application/octet-stream")
        return self.reply(404, b'{"errors":[{"code":"BLOB_UNKNOWN","message":"unknown"}]}')


http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
