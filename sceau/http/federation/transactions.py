"""PUT /_matrix/federation/v1/send/{txnId}: PDUs and EDUs from another server."""

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sceau.errors import bad_json
from sceau.http.common import json_response, services
from sceau.http.federation.common import origin_of


async def send_transaction(request: Request) -> Response:
    """PUT /_matrix/federation/v1/send/{txnId}"""
    origin, body = await origin_of(request, with_body=True)
    assert body is not None
    txn_id = request.path_params["txn_id"]
    if not txn_id or len(txn_id) > 255:
        raise bad_json("invalid transaction ID")
    fed = services(request).federation
    answer = await fed.transactions.receive(origin, txn_id, body)
    return json_response(answer)


def routes() -> list[BaseRoute]:
    return [Route("/_matrix/federation/v1/send/{txn_id}", send_transaction, methods=["PUT"])]
