"""The web UI on the gateway's HTTP port (``/``): server-rendered pages, no build step.

Jinja2 templates rendered by Starlette, one stylesheet and one small script (the live
events feed's EventSource): nothing is fetched from the internet and nothing is built
with npm. See :mod:`.routes` for the pages and :mod:`.session` for sign-in and CSRF.
"""

from __future__ import annotations

from services.common.auth import TokenStore
from services.gateway.http.ui.feed import EventFeed
from services.gateway.http.ui.reads import Reads
from services.gateway.http.ui.routes import Ui
from services.gateway.http.ui.session import Sessions
from services.gateway.promotions import Promotions
from services.gateway.service import Gateway


def build_ui(gateway: Gateway, promotions: Promotions, store: TokenStore | None) -> Ui:
    """The UI over the gateway's use cases, with sign-in when ``store`` is set; mount
    ``routes()``, and call ``close()`` before the server stops (it ends live feeds)."""
    return Ui(Reads(gateway, promotions), Sessions(store), EventFeed(gateway.hub))
