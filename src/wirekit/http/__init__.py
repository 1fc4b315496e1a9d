"""HTTP for applications: the server (WSGI host, handler classes), the client, forms,
static files and CGI, all on the sans-IO core in :mod:`wirekit.proto.http`."""
