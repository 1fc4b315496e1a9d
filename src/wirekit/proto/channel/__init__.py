"""The object channel as a sans-IO core: ``multiprocessing.connection``'s framing and authkey
handshake (``connection.py``, ``handshake.py``), the serializers that turn objects into
messages (``codec.py``: msgpack by default, a restricted pickle on request), and the remote
call messages of ``serve_object`` (``calls.py``). The shells are ``wirekit.channel``.

    from wirekit.proto.channel import ChannelConnection, Message, NEED_DATA

    server = ChannelConnection(accepting=True, authkey=b"secret", nonce=os.urandom(40))
    wire = server.data_to_send()              # the challenge, for the shell to send
    server.receive_data(bytes_from_the_peer)
    event = server.next_event()               # NEED_DATA, AUTHENTICATED, Message, CLOSED
"""

from wirekit.proto.channel.codec import (
    MsgpackSerializer,
    PickleSerializer,
    Serializer,
    make_serializer,
)
from wirekit.proto.channel.connection import (
    AUTHENTICATED,
    CLOSED,
    DEFAULT_MAX_MESSAGE,
    NEED_DATA,
    ChannelConnection,
    ChannelState,
    Message,
    frame,
)
from wirekit.proto.channel.handshake import NONCE_SIZE
from wirekit.proto.channel.pickling import DEFAULT_ALLOWED, RestrictedUnpickler

__all__ = [
    "AUTHENTICATED",
    "CLOSED",
    "DEFAULT_ALLOWED",
    "DEFAULT_MAX_MESSAGE",
    "NEED_DATA",
    "NONCE_SIZE",
    "ChannelConnection",
    "ChannelState",
    "Message",
    "MsgpackSerializer",
    "PickleSerializer",
    "RestrictedUnpickler",
    "Serializer",
    "frame",
    "make_serializer",
]
