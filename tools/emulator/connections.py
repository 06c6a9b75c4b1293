"""The gateway's HTTP connections to the simulated accounts: kept alive, one set per thread (http.client
connections are not thread-safe), opened again once when the account closed one."""

from __future__ import annotations

import http.client
import threading


class Connections:
    def __init__(self) -> None:
        self._local = threading.local()

    def exchange(
        self,
        port: int,
        method: str,
        target: str,
        host: str,
        headers: list[tuple[str, str]],
        body: bytes,
        timeout: float,
    ) -> tuple[int, str, list[tuple[str, str]], bytes]:
        """One HTTP exchange with a simulated account, on a kept-alive connection of this thread."""
        pool: dict[int, http.client.HTTPConnection] = self._local.__dict__.setdefault("pool", {})
        for attempt in (1, 2):
            connection = pool.get(port)
            if connection is None:
                connection = pool[port] = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
            try:
                connection.timeout = timeout
                if connection.sock is not None:
                    connection.sock.settimeout(timeout)
                connection.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
                connection.putheader("Host", host)
                for name, value in headers:
                    connection.putheader(name, value)
                connection.putheader("Content-Length", str(len(body)))
                connection.endheaders(body)
                reply = connection.getresponse()
                data = reply.read()
                return reply.status, reply.reason, reply.getheaders(), data
            except (http.client.RemoteDisconnected, ConnectionError, http.client.CannotSendRequest):
                connection.close()
                pool.pop(port, None)
                if attempt == 2:
                    raise
            except BaseException:
                connection.close()
                pool.pop(port, None)
                raise
        raise AssertionError("unreachable")
