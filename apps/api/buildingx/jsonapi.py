"""JSON:API on the wire: the media types the values endpoint reads and writes.

Requests are read as `application/vnd.api+json` or, since the vendor accepts it too, as plain
`application/json`; anything else is 415. Responses are always `application/vnd.api+json`,
whatever the client's `Accept` says: the body is the same JSON either way, and refusing a client
that asks for `application/json` (DRF's 406) would break integrations written against the vendor,
which answers JSON:API to every client.
"""

from rest_framework.negotiation import DefaultContentNegotiation

from apps.api.common.parsers import ORJSONParser
from apps.api.common.renderers import ORJSONRenderer

MEDIA_TYPE = "application/vnd.api+json"


class JSONAPIParser(ORJSONParser):
    media_type = MEDIA_TYPE


class JSONAPIRenderer(ORJSONRenderer):
    media_type = MEDIA_TYPE
    format = "vnd.api+json"


class FirstRendererNegotiation(DefaultContentNegotiation):
    """Parsers are chosen by `Content-Type` as usual; the response always gets the view's first
    renderer, so no `Accept` header can turn an answer (an error included) into a 406."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type
