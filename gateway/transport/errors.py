"""Transport failures, from the most to the least specific.

    TransportError
     ├── ConnectError          refused, unreachable, DNS, TLS handshake
     ├── ConnectTimeout        no connection within the connect timeout
     ├── PoolTimeout           no free connection slot in time
     ├── ReadTimeout           no response headers in time, or a gap between body chunks
     └── RemoteProtocolError   the peer closed early or sent something that is not HTTP/1.1

``RemoteProtocolError.before_response`` says no byte of a response arrived, which is
what makes a retry on a fresh connection safe after a stale keep-alive connection.
"""

from __future__ import annotations


class TransportError(Exception):
    pass


class ConnectError(TransportError):
    pass


class ConnectTimeout(TransportError):
    pass


class PoolTimeout(TransportError):
    pass


class ReadTimeout(TransportError):
    pass


class RemoteProtocolError(TransportError):
    def __init__(self, message: str, *, before_response: bool = False) -> None:
        super().__init__(message)
        self.before_response = before_response
