"""The current request, its `g` and its app, as the objects themselves.

Flask's `request`, `g` and `current_app` are Werkzeug `LocalProxy`s: every
attribute read through one looks the context up again, about 0.6 µs here,
and the path every request takes read them some thirty times (about a tenth
of a cached read's own CPU). Code on that path takes the object once, with
one of these, and reads it directly; elsewhere the proxies are clearer and
cost nothing that matters.

They read the context variables the proxies read (`flask.globals`'
`_cv_request` and `_cv_app`, Flask 2.2 and later): one lookup, where the
proxies' `_get_current_object` costs a few more calls. Outside a request
(or an app context) they raise the RuntimeError the proxies raise.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Request
from flask.globals import _cv_app, _cv_request


def current_request() -> Request:
    try:
        return _cv_request.get().request
    except LookupError:
        raise RuntimeError("Working outside of request context.") from None


def request_globals() -> Any:
    """`g` (Flask's `_AppCtxGlobals`: attributes, and `get`, `pop`, `setdefault`)."""
    try:
        return _cv_app.get().g
    except LookupError:
        raise RuntimeError("Working outside of application context.") from None


def current_flask() -> Flask:
    try:
        return _cv_app.get().app
    except LookupError:
        raise RuntimeError("Working outside of application context.") from None
