"""The ``wirekit`` command: a thin layer over the library, one module per subcommand.

This package is the only place in wirekit that reads environment variables or prints.
"""
