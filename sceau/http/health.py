"""GET /health: whether the server is up and its database answers (for load balancers)."""

import logging

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from sceau.http.common import services

logger = logging.getLogger(__name__)


async def health(request: Request) -> Response:
    """GET /health (not in the Matrix spec; Synapse serves the same path)

    200 ``OK`` once the server serves requests and its database answers; 503
    otherwise. The app is only served after start-up (migrations, caches) is
    done, so any answer at all means start-up has finished.
    """
    try:
        await services(request).stores.db.ping()
    except Exception as exc:
        logger.warning("health check: the database does not answer: %s", exc)
        return PlainTextResponse("database unavailable", status_code=503)
    return PlainTextResponse("OK")


def routes() -> list[BaseRoute]:
    return [Route("/health", health, methods=["GET", "HEAD"])]
