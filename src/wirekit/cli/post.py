"""``wirekit post URL [name=value | field@path ...]``: send a form, JSON or files."""

from wirekit.cli.fetch import make_command

command = make_command("POST", "POST form fields, JSON (--json) or files (field@path) to a URL.")
