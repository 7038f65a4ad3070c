"""The demo shop as a small real web app on loopback, so flows can run in a browser against it.

It serves the pages of the demo app (`shop.py`) as plain HTML with the same headings, links, test ids and forms,
so the steps `perceo init` derives from the code work here as they would on the Next.js app. One thing is broken
on purpose, so a synthetic run shows a failure with its reason and screenshot: the payment endpoint answers
503 "Payment provider unavailable", and the Checkout flow fails at "Pay now".

Standard library only (`http.server`), bound to 127.0.0.1 on a free port, stopped with `close()`.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from perceo.observer.routematch import routes_match

PRODUCTS = {"1": ("Coffee mug", 12), "2": ("Notebook", 8)}

HEADER = (
    "<nav><a href='/'>Home</a> <a href='/products'>Products</a> <a href='/cart'>Cart</a> "
    "<a href='/login'>Sign in</a></nav>"
)


def _price(amount: int) -> str:
    return f"<span data-testid='price'>${amount:.2f}</span>"


STATIC_PAGES = {
    "/": (
        "<h1>Welcome to the demo shop</h1><a href='/products'>Browse products</a> "
        "<a href='/signup'>Create an account</a>"
    ),
    "/products": "<h1>Products</h1>"
    + "".join(
        f"<article data-testid='product-card'><a href='/products/{pid}'>{name}</a> {_price(price)}</article>"
        for pid, (name, price) in PRODUCTS.items()
    ),
    "/cart": f"<h1>Your cart</h1>{_price(20)} <a href='/checkout'>Checkout</a>",
    "/checkout": (
        f"<h1>Checkout</h1>{_price(20)}<form action='/checkout/pay' method='post'>"
        "<input name='address' placeholder='Address'><input name='card' data-testid='card-number'>"
        "<button type='submit'>Pay now</button></form>"
    ),
    "/checkout/success": "<h1>Thank you for your order</h1>",
    "/login": (
        "<h1>Sign in</h1><form action='/dashboard' method='get'><input name='email' type='email' "
        "placeholder='Email'><input name='password' type='password' placeholder='Password'>"
        "<button type='submit'>Sign in</button></form><a href='/signup'>No account? Sign up</a>"
    ),
    "/signup": (
        "<h1>Create your account</h1><form action='/dashboard' method='get'><input name='name' "
        "placeholder='Full name'><input name='email' type='email'><input name='password' type='password'>"
        "<button type='submit'>Create account</button></form>"
    ),
    "/dashboard": "<h1>Dashboard</h1><a href='/projects'>Your projects</a> <a href='/settings'>Settings</a>",
    "/projects": "<h1>Projects</h1><a href='/projects/new'>New project</a> <a href='/projects/1'>Project one</a>",
    "/projects/new": (
        "<h1>New project</h1><form action='/projects/1' method='get'><input name='title' "
        "placeholder='Project name'><button type='submit'>Create project</button></form>"
    ),
}


def _product(path: str, query: dict[str, list[str]]) -> tuple[int, str]:
    product = PRODUCTS.get(path.rsplit("/", 1)[1])
    if product is None:
        return 404, "<p>Not found</p>"
    name, price = product
    return 200, (
        f"<h1>{name}</h1>{_price(price)}<button data-testid='add-to-cart' type='button'>Add to cart</button> "
        "<a href='/cart'>Go to cart</a>"
    )


def _settings(path: str, query: dict[str, list[str]]) -> tuple[int, str]:
    saved = " <p id='saved'>Saved</p>" if query.get("displayName") else ""
    return 200, (
        "<h1>Settings</h1><form action='/settings' method='get'><input name='displayName' "
        f"placeholder='Display name'><button type='submit'>Save</button></form>{saved}"
    )


def _edit_project(path: str, query: dict[str, list[str]]) -> tuple[int, str]:
    return 200, (
        f"<h1>Edit project</h1><form action='{html.escape(path)}' method='get'><input name='title'>"
        "<button type='submit'>Save changes</button></form>"
    )


def _project(path: str, query: dict[str, list[str]]) -> tuple[int, str]:
    project_id = html.escape(path.rsplit("/", 1)[1])
    return 200, (
        f"<p class='kind'>Project</p><h1>Project {project_id}</h1><a href='/projects/{project_id}/edit'>Edit</a>"
    )


#: Pages by route pattern, tried in order after the static ones.
DYNAMIC_PAGES: tuple[tuple[str, Callable[[str, dict[str, list[str]]], tuple[int, str]]], ...] = (
    ("/settings", _settings),
    ("/products/:id", _product),
    ("/projects/:id/edit", _edit_project),
    ("/projects/:id", _project),
)


def _page(path: str, query: dict[str, list[str]]) -> tuple[int, str] | None:
    """(status, body) of a page of the shop, or None when there is no such page."""
    if path in STATIC_PAGES:
        return 200, STATIC_PAGES[path]
    for route, render in DYNAMIC_PAGES:
        if routes_match(route, path):
            return render(path, query)
    return None


class _ShopHandler(BaseHTTPRequestHandler):
    server_version = "PerceoDemoShop"

    def do_GET(self) -> None:  # noqa: N802 - the standard library's name
        parts = urlsplit(self.path)
        found = _page(parts.path, parse_qs(parts.query))
        if found is None:
            self._send(404, "<h1>Not found</h1>")
            return
        self._send(*found)

    def do_POST(self) -> None:  # noqa: N802 - the standard library's name
        length = min(int(self.headers.get("Content-Length") or 0), 65_536)
        self.rfile.read(length)
        if urlsplit(self.path).path == "/checkout/pay":
            # Broken on purpose: the demo's Checkout flow fails here, with this page as its screenshot.
            self._send(503, "<h1>Payment provider unavailable</h1><p>Try again later.</p>")
            return
        self._send(404, "<h1>Not found</h1>")

    def _send(self, status: int, body: str) -> None:
        document = (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Demo shop</title></head>"
            f"<body>{HEADER}<main>{body}</main></body></html>"
        ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(document)))
        self.end_headers()
        self.wfile.write(document)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the standard library's name
        pass


class DemoServer:
    """The demo shop served on 127.0.0.1 (a free port unless one is given), in a background thread."""

    def __init__(self, port: int = 0) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _ShopHandler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="perceo-demo-shop", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> DemoServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
