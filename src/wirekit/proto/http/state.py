"""The HTTP/1.1 connection state machine: roles, states and explicit transition tables.

Each side of a connection (client and server) has its own state. Events move one side along
``EVENT_TRANSITIONS``; some moves of one side follow from the pair of states
(``JOINT_TRANSITIONS``) or from the keep-alive decision. This is the shape of h11's
``_state.py``, written out as data so that a reader can check it against RFC 9112 §9 without
running it.

A normal keep-alive cycle, as both sides see it::

    client: IDLE -Request-> SEND_BODY -EndOfMessage-> DONE
    server: IDLE -(client's Request)-> SEND_RESPONSE -Response-> SEND_BODY -EndOfMessage-> DONE
    both DONE -start_next_cycle()-> both IDLE

Without keep-alive, DONE becomes MUST_CLOSE. A request proposing a protocol switch (``Upgrade``
or ``CONNECT``) holds the client in MIGHT_SWITCH_PROTOCOL until the server accepts (101, or 2xx
to CONNECT: both sides SWITCHED_PROTOCOL) or answers with anything else (back to DONE).
"""

from __future__ import annotations

import enum
from typing import Final

from wirekit.errors import LocalProtocolError
from wirekit.proto.http.events import (
    ConnectionClosed,
    Data,
    EndOfMessage,
    InformationalResponse,
    Request,
    Response,
)

__all__ = [
    "EVENT_TRANSITIONS",
    "JOINT_TRANSITIONS",
    "ConnectionState",
    "Role",
    "State",
    "Switch",
]


class Role(enum.Enum):
    """Which end of the connection a ``Connection`` speaks for."""

    __hash__ = object.__hash__  # members are singletons; Enum's own hash is Python code

    CLIENT = "client"
    SERVER = "server"


class State(enum.Enum):
    """Where one side of the connection is in the current request/response cycle."""

    __hash__ = object.__hash__  # members are singletons; Enum's own hash is Python code

    IDLE = "IDLE"
    SEND_RESPONSE = "SEND_RESPONSE"  # server only: a request arrived, no final response yet
    SEND_BODY = "SEND_BODY"
    DONE = "DONE"
    MUST_CLOSE = "MUST_CLOSE"
    CLOSED = "CLOSED"
    MIGHT_SWITCH_PROTOCOL = "MIGHT_SWITCH_PROTOCOL"
    SWITCHED_PROTOCOL = "SWITCHED_PROTOCOL"
    ERROR = "ERROR"


class Switch(enum.Enum):
    """A protocol switch the client proposed (RFC 9110 §7.8 Upgrade, §9.3.6 CONNECT)."""

    __hash__ = object.__hash__  # members are singletons; Enum's own hash is Python code

    UPGRADE = "upgrade"
    CONNECT = "connect"


_C, _S = Role.CLIENT, Role.SERVER
IDLE, SEND_RESPONSE, SEND_BODY, DONE = State.IDLE, State.SEND_RESPONSE, State.SEND_BODY, State.DONE
MUST_CLOSE, CLOSED, ERROR = State.MUST_CLOSE, State.CLOSED, State.ERROR
MIGHT_SWITCH, SWITCHED = State.MIGHT_SWITCH_PROTOCOL, State.SWITCHED_PROTOCOL

# role -> state -> trigger -> next state. A trigger is an event class, or (event class,
# Switch) when the server's event accepts a proposed switch.
EVENT_TRANSITIONS: Final[dict[Role, dict[State, dict[object, State]]]] = {
    _C: {
        IDLE: {Request: SEND_BODY, ConnectionClosed: CLOSED},
        SEND_BODY: {Data: SEND_BODY, EndOfMessage: DONE},
        DONE: {ConnectionClosed: CLOSED},
        MUST_CLOSE: {ConnectionClosed: CLOSED},
        CLOSED: {ConnectionClosed: CLOSED},
        MIGHT_SWITCH: {},
        SWITCHED: {},
        ERROR: {},
    },
    _S: {
        # A response with no request before it is an error reply (400, 408, 414, 431 ...).
        IDLE: {Response: SEND_BODY, ConnectionClosed: CLOSED},
        SEND_RESPONSE: {
            InformationalResponse: SEND_RESPONSE,
            Response: SEND_BODY,
            (InformationalResponse, Switch.UPGRADE): SWITCHED,  # 101 Switching Protocols
            (Response, Switch.CONNECT): SWITCHED,  # 2xx to CONNECT: a tunnel (§9.3.6)
        },
        SEND_BODY: {Data: SEND_BODY, EndOfMessage: DONE},
        DONE: {ConnectionClosed: CLOSED},
        MUST_CLOSE: {ConnectionClosed: CLOSED},
        CLOSED: {ConnectionClosed: CLOSED},
        SWITCHED: {},
        ERROR: {},
    },
}

# (client state, server state) -> the states that follow from the pair alone. One side closing
# or failing ends keep-alive for the other (RFC 9112 §9.6); an accepted switch carries the
# waiting client along.
JOINT_TRANSITIONS: Final[dict[tuple[State, State], dict[Role, State]]] = {
    (MIGHT_SWITCH, SWITCHED): {_C: SWITCHED},
    (CLOSED, DONE): {_S: MUST_CLOSE},
    (CLOSED, IDLE): {_S: MUST_CLOSE},
    (ERROR, DONE): {_S: MUST_CLOSE},
    (DONE, CLOSED): {_C: MUST_CLOSE},
    (IDLE, CLOSED): {_C: MUST_CLOSE},
    (DONE, ERROR): {_C: MUST_CLOSE},
}


# The same table flattened to one lookup per event: (role, state, trigger) -> next state.
_FLAT: Final[dict[tuple[Role, State, object], State]] = {
    (role, state, trigger): new
    for role, rows in EVENT_TRANSITIONS.items()
    for state, row in rows.items()
    for trigger, new in row.items()
}


class ConnectionState:
    """Both sides' states plus the two facts that steer them: keep-alive and switch proposals.

    Knows nothing about bytes; ``Connection`` feeds it event *types*. Raises
    ``LocalProtocolError`` for a move the tables do not allow; the caller re-labels it as
    remote when the move was the peer's.
    """

    __slots__ = ("keep_alive", "pending_switches", "states")

    def __init__(self) -> None:
        self.states: dict[Role, State] = {_C: IDLE, _S: IDLE}
        self.keep_alive = True
        self.pending_switches: set[Switch] = set()

    def process_event(self, role: Role, event_type: type, switch: Switch | None = None) -> None:
        """Move ``role`` along the table for an event of ``event_type`` it sent."""
        states = self.states
        state = states[role]
        if switch is None:
            new_state = _FLAT.get((role, state, event_type))
        elif switch in self.pending_switches:
            new_state = _FLAT.get((role, state, (event_type, switch)))
        else:
            raise LocalProtocolError(f"the client did not propose the {switch.value} switch")
        if new_state is None:
            raise LocalProtocolError(
                f"can't handle {event_type.__name__} when the {role.value} is in state "
                f"{state.value}"
            )
        states[role] = new_state
        if event_type is Request and role is _C and states[_S] is IDLE:
            states[_S] = SEND_RESPONSE  # the request is what the server now answers
        elif event_type is Response and switch is None and self.pending_switches:
            self.pending_switches.clear()  # a plain final response declines any proposal
        client = states[_C]
        if (self.keep_alive and not self.pending_switches and client is not MIGHT_SWITCH
                and (client, states[_S]) not in JOINT_TRANSITIONS):  # fmt: skip
            return  # the common keep-alive case: nothing is triggered
        self._settle()

    def process_error(self, role: Role) -> None:
        """``role`` broke the protocol; nothing more can be exchanged with it."""
        self.states[role] = ERROR
        self._settle()

    def process_keep_alive_disabled(self) -> None:
        """This cycle is the last one: whoever finishes goes to MUST_CLOSE (RFC 9112 §9.6)."""
        self.keep_alive = False
        self._settle()

    def process_client_switch_proposal(self, switch: Switch) -> None:
        """The client's request proposed ``switch``; the server may accept it."""
        self.pending_switches.add(switch)
        self._settle()

    def start_next_cycle(self) -> None:
        """Both sides finished a keep-alive exchange: return both to IDLE."""
        states = self.states
        if states[_C] is not DONE or states[_S] is not DONE:
            raise LocalProtocolError(
                f"not in a reusable state (client {states[_C].value}, server {states[_S].value})"
            )
        states[_C] = states[_S] = IDLE

    def _settle(self) -> None:
        """Apply the state-triggered moves until nothing changes (at most a few rounds)."""
        states = self.states
        while True:
            before = (states[_C], states[_S])
            if self.pending_switches and states[_C] is DONE:
                states[_C] = MIGHT_SWITCH
            if not self.pending_switches and states[_C] is MIGHT_SWITCH:
                states[_C] = DONE
            if not self.keep_alive:
                for role in (_C, _S):
                    if states[role] is DONE:
                        states[role] = MUST_CLOSE
            states.update(JOINT_TRANSITIONS.get((states[_C], states[_S]), {}))
            if (states[_C], states[_S]) == before:
                return
