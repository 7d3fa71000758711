"""A small web app that counts visits, for Baton's "deploy a real app" guide.

It uses only what Debian's python3 ships, plus python3-psycopg2 when DATABASE_URL names a
PostgreSQL database; without it, visits are counted in SQLite under DATA_DIR (default /data),
which is meant to be a Baton volume. It listens on $PORT, as Baton sets it.
"""
import hashlib
import http.server
import json
import os
import sqlite3
import sys
from contextlib import closing
import urllib.parse
import urllib.request

VERSION = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "VERSION")).read().strip()
DATA_DIR = os.environ.get("DATA_DIR", "/data")
DATABASE_URL = os.environ.get("DATABASE_URL")


class SQLiteCounter:
    def __init__(self, path):
        self.path = path
        with closing(self.connect()) as db, db:
            db.execute("CREATE TABLE IF NOT EXISTS visits (id INTEGER PRIMARY KEY CHECK (id = 1), count INTEGER NOT NULL)")
            db.execute("INSERT OR IGNORE INTO visits VALUES (1, 0)")

    def connect(self):
        # Two versions may run at once during a blue-green swap: SQLite's file locks keep
        # the count right, and a busy timeout waits for the other writer instead of failing.
        return sqlite3.connect(self.path, timeout=10, isolation_level="IMMEDIATE")

    def visit(self):
        with closing(self.connect()) as db, db:
            db.execute("UPDATE visits SET count = count + 1 WHERE id = 1")
            return db.execute("SELECT count FROM visits WHERE id = 1").fetchone()[0]


class PostgresCounter:
    def __init__(self, url):
        import psycopg2
        self.connect = lambda: psycopg2.connect(url, connect_timeout=5)
        with closing(self.connect()) as db, db, db.cursor() as cursor:
            cursor.execute("CREATE TABLE IF NOT EXISTS visits (id INTEGER PRIMARY KEY CHECK (id = 1), count INTEGER NOT NULL)")
            cursor.execute("INSERT INTO visits VALUES (1, 0) ON CONFLICT DO NOTHING")

    def visit(self):
        with closing(self.connect()) as db, db, db.cursor() as cursor:
            cursor.execute("UPDATE visits SET count = count + 1 WHERE id = 1 RETURNING count")
            return cursor.fetchone()[0]


def fetch(url):
    """The first line that `url` serves, or why it could not be reached."""
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return reply.read().decode().splitlines()[0]
    except Exception as error:
        return "unreachable: %s" % getattr(error, "reason", error)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        try:
            self.route()
        except Exception as error:
            # A database that cannot be reached is a 500 that says why, not a dropped connection.
            print("error: %s %s: %s" % (self.command, self.path, error), flush=True)
            self.send_error(500, explain="%s: %s" % (type(error).__name__, error))

    def route(self):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        if url.path == "/health":
            self.answer("ok")
        elif url.path == "/":
            self.answer("%s says %s" % (VERSION, os.environ.get("GREETING", "hello")))
        elif url.path == "/visit":
            self.answer("visits %d" % COUNTER.visit())
        elif url.path == "/fetch":
            self.answer(fetch(query.get("url", [""])[0]))
        elif url.path == "/whoami":
            # Proves the app has its secret without showing it: a digest of it.
            secret = os.environ.get("API_TOKEN", "")
            self.answer(json.dumps({
                "app": os.environ.get("BATON_APP"),
                "sandbox": os.environ.get("BATON_SANDBOX"),
                "token_sha256": hashlib.sha256(secret.encode()).hexdigest() if secret else None,
                "interfaces": sorted(os.listdir("/sys/class/net")),
            }))
        else:
            self.send_error(404)

    def answer(self, text):
        body = (text + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        sys.stdout.write("%s %s\n" % (self.address_string(), format % args))
        sys.stdout.flush()


COUNTER = PostgresCounter(DATABASE_URL) if DATABASE_URL else SQLiteCounter(os.path.join(DATA_DIR, "visits.db"))

if __name__ == "__main__":
    port = int(os.environ["PORT"])
    print("counter %s listening on port %d" % (VERSION, port), flush=True)
    http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
