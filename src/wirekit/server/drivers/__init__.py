"""The two drivers of connection cores (``wirekit.server.core``), with the same method names:
``blocking`` (sync, threads, fork, prefork) and ``event_loop`` (async). They hold no
protocol decisions: they move bytes, keep the deadline a core asked for, and run its work."""
