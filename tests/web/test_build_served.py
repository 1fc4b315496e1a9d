"""What a build writes is a site: served over loopback by wirekit's static files, as
``wirekit serve OUT`` does."""

from __future__ import annotations

import wirekit.http
from wirekit.http.static import StaticFiles
from wirekit.testing import serve_wsgi
from wirekit.web import build

from .conftest import LAYOUT


def test_build_then_serve_out(site, tmp_path):
    src = site({"_layout.html": LAYOUT.replace("<head>", '<head><link rel="stylesheet" '
                                               'href="${root}css/site.css">'),
                "_data.json": '{"year": 2024}',
                "index.html": "<p>Hello</p>", "index.json": '{"title": "Home"}',
                "shop/sales.html": "<table>\n$rows\n</table>", "shop/sales.json":
                '{"title": "Sales"}', "shop/sales.csv": "item,qty\nlimes,4\n",
                "css/site.css": "body { color: #333 }\n"})
    out = tmp_path / "public"
    build(src, out)
    with serve_wsgi(StaticFiles(out)) as url:
        home = wirekit.http.get(url + "/")  # the directory's index.html
        assert home.status == 200 and "text/html" in home.headers["content-type"]
        assert "<title>Home</title>" in home.text and "<p>Hello</p>" in home.text
        sales = wirekit.http.get(url + "/shop/sales.html")
        assert "<tr><td>limes</td><td>4</td></tr>" in sales.text
        assert 'href="../css/site.css"' in sales.text
        css = wirekit.http.get(url + "/shop/../css/site.css")
        assert css.status == 200 and css.text == "body { color: #333 }\n"
        marker = wirekit.http.get(url + "/.wirekit-build", raise_for_status=False)
        assert marker.status == 404  # a dotfile: the static server does not serve it
        missing = wirekit.http.get(url + "/index.json", raise_for_status=False)
        assert missing.status == 404  # an input, not copied
