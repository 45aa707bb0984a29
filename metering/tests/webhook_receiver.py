"""A local HTTP endpoint that records webhook requests, for tests of deliveries."""

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest


class Receiver:
    """Answers each POST with the next queued status code (200 once they run
    out) and the body ``ok``; keeps ``(headers, body)`` of every request, the
    header names in lower case."""

    def __init__(self, codes):
        self.codes = list(codes)
        self.requests = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {name.lower(): value for name, value in self.headers.items()}
                receiver.requests.append((headers, body))
                self.send_response(receiver.codes.pop(0) if receiver.codes else 200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hooks"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    instances = []

    def make(codes=()):
        instance = Receiver(codes)
        instances.append(instance)
        return instance

    yield make
    for instance in instances:
        instance.close()
