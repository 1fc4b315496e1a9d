"""The FTP client core, pure tier: whole sessions with the server's bytes fed four ways, what
it refuses to send (nothing queued), and the bounds on what the server may send."""

from __future__ import annotations

import pytest

from wirekit.errors import (
    ConfigError,
    LocalProtocolError,
    MessageTooLarge,
    RemoteProtocolError,
)
from wirekit.proto.ftp import (
    NEED_DATA,
    Answer,
    ClientConnection,
    ClientState,
    Close,
    Command,
)
from wirekit.proto.replies import Reply
from wirekit.testing import FEEDS

FEAT = (b"211-Features supported:\r\n EPRT\r\n EPSV\r\n MDTM\r\n MLST type*;perm*;size*;"
        b"modify*;\r\n REST STREAM\r\n SIZE\r\n UTF8\r\n211 End FEAT.\r\n")


def answers(conn: ClientConnection, data: bytes, split) -> list[Answer | Close]:
    out: list[Answer | Close] = []
    for piece in split(data):
        conn.receive_data(piece)
        while (event := conn.next_event()) is not NEED_DATA:
            assert isinstance(event, Answer | Close)
            out.append(event)
    return out


def exchange(conn: ClientConnection, command: Command, reply: bytes, split=FEEDS["whole"]
             ) -> list[Answer | Close]:
    conn.send(command)
    conn.data_to_send()
    return answers(conn, reply, split)


def logged_in(split=FEEDS["whole"], **options) -> ClientConnection:
    conn = ClientConnection(**options)
    answers(conn, b"220 ready\r\n", split)
    exchange(conn, Command("USER", "anonymous"), b"331 password\r\n", split)
    exchange(conn, Command("PASS", "a@b"), b"230 in\r\n", split)
    assert conn.state is ClientState.READY
    return conn


@pytest.mark.parametrize("feed", sorted(FEEDS))
def test_a_whole_session_however_the_replies_arrive(feed):
    split = FEEDS[feed]
    conn = ClientConnection()
    [greeting] = answers(conn, b"120-wait a moment\r\n120 please\r\n220 ready\r\n", split)[1:]
    assert greeting == Answer(None, Reply(220, ("ready",)))
    assert conn.state is ClientState.LOGIN
    conn.send(Command("USER", "anonymous"))
    assert conn.data_to_send() == b"USER anonymous\r\n"
    [answer] = answers(conn, b"331 Username ok, send password.\r\n", split)
    assert answer.command == Command("USER", "anonymous") and answer.final
    assert conn.state is ClientState.PASSWORD
    exchange(conn, Command("PASS", "guest@"), b"230-Welcome\r\n free text\r\n230 Login ok\r\n",
             split)
    assert conn.state is ClientState.READY
    [feat] = exchange(conn, Command("FEAT"), FEAT, split)
    assert isinstance(feat, Answer) and feat.reply.lines[1] == " EPRT"
    assert conn.features["MLST"] == "type*;perm*;size*;modify*;"
    assert conn.supports("rest") and conn.features["REST"] == "STREAM"
    [epsv] = exchange(conn, Command("EPSV"), b"229 Entering extended passive mode (|||6446|)\r\n",
                      split)
    assert isinstance(epsv, Answer) and epsv.reply.code == 229
    conn.send(Command("RETR", "notes.txt"))
    assert conn.data_to_send() == b"RETR notes.txt\r\n"
    opening, done = answers(conn, b"150 Opening data connection\r\n226 Transfer complete\r\n",
                            split)
    assert isinstance(opening, Answer) and not opening.final
    assert isinstance(done, Answer) and done.final and done.command == Command("RETR",
                                                                                "notes.txt")
    assert conn.waiting == 0
    [bye] = exchange(conn, Command("QUIT"), b"221 Goodbye\r\n", split)
    assert isinstance(bye, Answer) and conn.state is ClientState.CLOSED
    assert answers(conn, b"", split) == []
    conn.receive_data(b"")
    assert isinstance(conn.next_event(), Close)


@pytest.mark.parametrize("argument", [
    "a\r\nDELE x", "a\nDELE x", "a\rDELE x", "name\x00.txt",
])
@pytest.mark.parametrize("verb", ["RETR", "CWD", "DELE", "USER", "PASS", "MKD", "SITE"])
def test_cr_lf_nul_in_an_argument_are_refused_with_nothing_queued(verb, argument):
    conn = logged_in()
    if verb in ("RETR",):
        exchange(conn, Command("EPSV"), b"229 ok (|||1234|)\r\n")
    if verb in ("USER", "PASS"):
        conn = ClientConnection()
        answers(conn, b"220 ok\r\n", FEEDS["whole"])
        if verb == "PASS":
            exchange(conn, Command("USER", "u"), b"331 pw\r\n")
    with pytest.raises(ConfigError, match="injection") as info:
        conn.send(Command(verb, argument))
    assert isinstance(info.value, ValueError)
    assert conn.data_to_send() == b""


def test_one_command_at_a_time_but_abor_may_interrupt_a_transfer():
    conn = logged_in()
    conn.send(Command("PWD"))
    with pytest.raises(LocalProtocolError, match="before the final reply to PWD"):
        conn.send(Command("NOOP"))
    with pytest.raises(LocalProtocolError):
        conn.send(Command("ABOR"))  # PWD is no transfer
    answers(conn, b'257 "/"\r\n', FEEDS["whole"])
    exchange(conn, Command("PASV"), b"227 Entering Passive Mode (127,0,0,1,4,1).\r\n")
    conn.send(Command("RETR", "big"))
    conn.send(Command("ABOR"))
    assert conn.data_to_send() == b"RETR big\r\nABOR\r\n"
    got = answers(conn, b"150 opening\r\n426 aborted\r\n226 ABOR ok\r\n", FEEDS["whole"])
    assert [(a.command.verb if isinstance(a, Answer) and a.command else None,
             a.reply.code if isinstance(a, Answer) else None) for a in got] == [
        ("RETR", 150), ("RETR", 426), ("ABOR", 226)]
    assert conn.waiting == 0 and conn.state is ClientState.READY


def test_a_transfer_needs_a_data_connection_set_up_just_before():
    conn = logged_in()
    with pytest.raises(LocalProtocolError, match="PASV, EPSV, PORT or EPRT"):
        conn.send(Command("RETR", "x"))
    exchange(conn, Command("EPSV"), b"229 ok (|||1234|)\r\n")
    exchange(conn, Command("LIST"), b"150 here\r\n226 done\r\n")
    with pytest.raises(LocalProtocolError):  # one setup, one transfer
        conn.send(Command("LIST"))
    exchange(conn, Command("EPSV"), b"500 not understood\r\n")
    with pytest.raises(LocalProtocolError):  # a refused setup sets nothing up
        conn.send(Command("MLSD"))
    assert conn.data_to_send() == b""


def test_states_refuse_what_they_do_not_allow():
    conn = ClientConnection()
    with pytest.raises(LocalProtocolError):  # before the greeting
        conn.send(Command("USER", "x"))
    answers(conn, b"220 ok\r\n", FEEDS["whole"])
    for verb in ("RETR", "CWD", "PASS", "RNTO"):
        with pytest.raises(LocalProtocolError, match="state LOGIN"):
            conn.send(Command(verb, "x"))
    exchange(conn, Command("USER", "x"), b"331 pw\r\n")
    with pytest.raises(LocalProtocolError, match="state PASSWORD"):
        conn.send(Command("CWD", "/"))
    exchange(conn, Command("PASS", "bad"), b"530 Login incorrect\r\n")
    assert conn.state is ClientState.LOGIN  # try again
    with pytest.raises(LocalProtocolError, match="not an FTP verb"):
        conn.send(Command("RE TR"))
    assert conn.data_to_send() == b""


def test_user_alone_or_with_an_account():
    conn = ClientConnection()
    answers(conn, b"220 ok\r\n", FEEDS["whole"])
    exchange(conn, Command("USER", "x"), b"230 no password needed\r\n")
    assert conn.state is ClientState.READY
    conn = ClientConnection()
    answers(conn, b"220 ok\r\n", FEEDS["whole"])
    exchange(conn, Command("USER", "x"), b"331 pw\r\n")
    exchange(conn, Command("PASS", "y"), b"332 account?\r\n")
    assert conn.state is ClientState.ACCOUNT
    exchange(conn, Command("ACCT", "z"), b"230 ok\r\n")
    assert conn.state is ClientState.READY


def test_rename_and_restart_sequences():
    conn = logged_in()
    exchange(conn, Command("RNFR", "a"), b"350 ready for destination\r\n")
    assert conn.state is ClientState.RENAME
    with pytest.raises(LocalProtocolError):
        conn.send(Command("DELE", "a"))
    exchange(conn, Command("RNTO", "b"), b"250 renamed\r\n")
    assert conn.state is ClientState.READY
    exchange(conn, Command("RNFR", "a"), b"550 no such file\r\n")
    assert conn.state is ClientState.READY
    exchange(conn, Command("EPSV"), b"229 ok (|||1234|)\r\n")
    exchange(conn, Command("REST", "100"), b"350 restarting at 100\r\n")
    assert conn.state is ClientState.RESTART
    with pytest.raises(LocalProtocolError):
        conn.send(Command("LIST"))
    exchange(conn, Command("RETR", "a"), b"150 go\r\n226 done\r\n")
    assert conn.state is ClientState.READY


def test_auth_tls_pbsz_prot():
    conn = ClientConnection()
    answers(conn, b"220 ok\r\n", FEEDS["whole"])
    with pytest.raises(LocalProtocolError, match="under TLS"):
        conn.send(Command("PBSZ", "0"))
    exchange(conn, Command("AUTH", "TLS"), b"234 AUTH TLS successful\r\n")
    assert conn.state is ClientState.TLS
    with pytest.raises(LocalProtocolError):
        conn.send(Command("USER", "x"))  # the handshake first
    conn.tls_started()
    assert conn.state is ClientState.LOGIN and conn.tls
    with pytest.raises(LocalProtocolError, match="already active"):
        conn.send(Command("AUTH", "TLS"))
    exchange(conn, Command("USER", "x"), b"331 pw\r\n")
    exchange(conn, Command("PASS", "y"), b"230 ok\r\n")
    with pytest.raises(LocalProtocolError, match="PBSZ"):
        conn.send(Command("PROT", "P"))
    exchange(conn, Command("PBSZ", "0"), b"200 PBSZ=0 successful.\r\n")
    exchange(conn, Command("PROT", "P"), b"200 Protection set to Private\r\n")
    assert conn.protected
    exchange(conn, Command("PROT", "C"), b"200 Protection set to Clear\r\n")
    assert not conn.protected


def test_plaintext_behind_the_234_to_auth_tls_is_an_injection():
    conn = ClientConnection()
    answers(conn, b"220 ok\r\n", FEEDS["whole"])
    conn.send(Command("AUTH", "TLS"))
    conn.receive_data(b"234 go ahead\r\n230 injected login\r\n")
    with pytest.raises(RemoteProtocolError, match="injection"):
        conn.next_event()


def test_a_refused_auth_stays_in_the_clear():
    conn = ClientConnection()
    answers(conn, b"220 ok\r\n", FEEDS["whole"])
    exchange(conn, Command("AUTH", "TLS"), b"502 not implemented\r\n")
    assert conn.state is ClientState.LOGIN and not conn.tls
    with pytest.raises(LocalProtocolError):
        conn.tls_started()


@pytest.mark.parametrize("feed", sorted(FEEDS))
def test_an_endless_multi_line_reply_is_bounded(feed):
    conn = ClientConnection(max_lines=100)
    data = b"220-hello\r\n" + b" more banner\r\n" * 200
    with pytest.raises(MessageTooLarge, match="100 lines"):
        answers(conn, data, FEEDS[feed])


@pytest.mark.parametrize("feed", ["whole", "random"])
def test_a_10_mb_line_is_bounded(feed):
    conn = ClientConnection()
    with pytest.raises(MessageTooLarge, match="8192"):
        answers(conn, b"220 " + b"x" * (10 * 1024 * 1024), FEEDS[feed])
    with pytest.raises(RemoteProtocolError):  # the stream stays broken
        conn.next_event()


def test_unsolicited_and_out_of_place_replies():
    conn = logged_in()
    with pytest.raises(RemoteProtocolError, match="nobody asked for"):
        answers(conn, b"200 surprise\r\n", FEEDS["whole"])
    conn = logged_in()
    conn.send(Command("PWD"))
    with pytest.raises(RemoteProtocolError, match="preliminary"):
        answers(conn, b"150 what?\r\n", FEEDS["whole"])
    conn = logged_in()
    [closing] = answers(conn, b"421 Service not available, closing\r\n", FEEDS["whole"])
    assert isinstance(closing, Answer) and closing.command is None
    assert conn.state is ClientState.CLOSED


def test_a_refused_greeting_closes_and_a_421_reply_closes():
    conn = ClientConnection()
    answers(conn, b"530 not from your address\r\n", FEEDS["whole"])
    assert conn.state is ClientState.CLOSED
    conn = logged_in()
    exchange(conn, Command("CWD", "x"), b"421 Timeout\r\n")
    assert conn.state is ClientState.CLOSED
    with pytest.raises(LocalProtocolError):
        conn.send(Command("PWD"))


def test_eof_in_the_middle_of_a_reply():
    conn = ClientConnection()
    conn.receive_data(b"220-partial\r\n")
    assert conn.next_event() is NEED_DATA
    conn.receive_data(b"")
    with pytest.raises(RemoteProtocolError, match="middle of a reply"):
        conn.next_event()


def test_utf8_paths_and_names_that_are_not_utf8_round_trip():
    conn = logged_in()
    conn.send(Command("CWD", "Grüße"))
    assert conn.data_to_send() == "CWD Grüße\r\n".encode()
    answers(conn, b"250 ok\r\n", FEEDS["whole"])
    conn.send(Command("DELE", b"caf\xe9".decode("utf-8", "surrogateescape")))
    assert conn.data_to_send() == b"DELE caf\xe9\r\n"


def test_passwords_stay_out_of_repr():
    command = Command("PASS", "hunter2")
    assert "hunter2" not in repr(command) and "hunter2" not in str(command)
    assert str(Command("RETR", "a b")) == "RETR a b"
