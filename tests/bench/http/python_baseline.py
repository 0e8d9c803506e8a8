"""The Python baseline of the push-mode benchmark: the same handler (samples/python-hello) behind
Python's own http.server.ThreadingHTTPServer, doing the least a server must (read the body, call
the handler with a context, write JSON). usage: python_baseline.py PORT SAMPLE_DIR"""

import importlib.util
import json
import socket
import sys
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, sample = int(sys.argv[1]), sys.argv[2]
spec = importlib.util.spec_from_file_location("app", f"{sample}/app.py")
app = importlib.util.module_from_spec(spec)
spec.loader.exec_module(app)


class Context:
    def __init__(self):
        self.aws_request_id = str(uuid.uuid4())


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # Headers and body go out in two writes: without TCP_NODELAY every keep-alive request
        # would wait ~40 ms for a delayed ACK, which would make this baseline unfairly slow.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        event = {"rawPath": self.path, "body": raw.decode("utf-8", "replace")}
        body = json.dumps(app.handler(event, Context())).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _serve

    def log_message(self, *args):
        pass


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
