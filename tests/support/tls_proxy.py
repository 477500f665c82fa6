"""A TLS-terminating proxy in front of a plain TCP server (a Redis behind ``rediss://``, as Heroku
Redis presents it: a self-signed certificate)."""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path

from app.embedded_redis import find_free_port


class TlsProxy:
    def __init__(self, target_port: int, cert: Path, key: Path) -> None:
        self.target_port = target_port
        self.port = find_free_port()
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(str(cert), str(key))
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            secured = self.context.wrap_socket(client, server_side=True)
        except (ssl.SSLError, OSError):
            client.close()  # a client that refused our certificate
            return
        upstream = socket.create_connection(("127.0.0.1", self.target_port))
        threading.Thread(target=_pipe, args=(upstream, secured), daemon=True).start()
        _pipe(secured, upstream)

    def close(self) -> None:
        self._closed = True
        self.listener.close()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, sink):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
