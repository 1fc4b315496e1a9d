"""L1, bytes on sockets: addresses, streams, framing, datagrams, options and lookups.

>>> from wirekit.net import Address
>>> str(Address.parse("[::1]:8080"))
'[::1]:8080'
"""

from wirekit.net.address import Address, AddressLike
from wirekit.net.connect import connect
from wirekit.net.connections import SocketInfo, list_sockets
from wirekit.net.datagram import Datagram, DatagramEndpoint
from wirekit.net.deadline import Deadline
from wirekit.net.framing import (
    DelimiterFramer,
    Framer,
    LengthPrefixFramer,
    LineFramer,
    PassThroughFramer,
)
from wirekit.net.listener import Listener, listen
from wirekit.net.lookup import hostname, resolve, reverse, service_name, service_port
from wirekit.net.options import get_option, set_option
from wirekit.net.stream import Stream
from wirekit.net.tls import client_context, server_context
from wirekit.proto.buffer import ReceiveBuffer

__all__ = [
    "Address",
    "AddressLike",
    "Datagram",
    "DatagramEndpoint",
    "Deadline",
    "DelimiterFramer",
    "Framer",
    "LengthPrefixFramer",
    "LineFramer",
    "Listener",
    "PassThroughFramer",
    "ReceiveBuffer",
    "SocketInfo",
    "Stream",
    "client_context",
    "connect",
    "get_option",
    "hostname",
    "list_sockets",
    "listen",
    "resolve",
    "reverse",
    "server_context",
    "service_name",
    "service_port",
    "set_option",
]
