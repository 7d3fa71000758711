#!/usr/bin/python3
"""A Docker-style token server for Baton's registry tests (RegistryAuthTests).

GET /token?service=S&scope=repository:NAME:ACTIONS… with HTTP Basic USER:PASSWORD answers
{"token": JWT}: RS256, signed by `openssl dgst` with KEY, the certificate CERT in its x5c
header (docker-registry's `auth: token: rootcertbundle` trusts it), granting the actions asked
for. Wrong or missing credentials get 401. Usage: token_server.py PORT KEY CERT USER PASSWORD"""
import base64
import http.server
import json
import os
import subprocess
import sys
import time
import urllib.parse

port, key, cert, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
der = subprocess.run(["openssl", "x509", "-in", cert, "-outform", "DER"], check=True, capture_output=True).stdout


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(claims):
    header = {"alg": "RS256", "typ": "JWT", "x5c": [base64.b64encode(der).decode()]}
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=signing_input.encode(),
                               check=True, capture_output=True).stdout
    return signing_input + "." + b64url(signature)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        sys.stderr.write("%s %s\n" % (self.command, self.path))

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        expected = "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
        if url.path != "/token" or self.headers.get("Authorization") != expected:
            return self.reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad credentials"}]})
        query = urllib.parse.parse_qs(url.query)
        access = []
        for scope in query.get("scope", []):
            for item in scope.split(" "):
                kind, name, actions = item.split(":")[0], ":".join(item.split(":")[1:-1]), item.split(":")[-1]
                access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        claims = {"iss": "baton-test-issuer", "sub": user, "aud": query.get("service", [""])[0], "exp": now + 600,
                  "nbf": now - 60, "iat": now, "jti": b64url(os.urandom(12)), "access": access}
        self.reply(200, {"token": sign(claims), "expires_in": 600})


http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
