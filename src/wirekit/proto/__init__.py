"""L3: sans-IO protocol cores. Bytes in, events out; nothing here touches a socket."""
