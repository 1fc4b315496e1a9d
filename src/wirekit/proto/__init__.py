"""L3: sans-IO protocol cores. Bytes in, events out; nothing here touches a socket.

Every core keeps what it received in a :class:`ReceiveBuffer` (``proto/buffer.py``).
"""

from wirekit.proto.buffer import ReceiveBuffer

__all__ = ["ReceiveBuffer"]
