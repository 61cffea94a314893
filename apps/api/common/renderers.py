"""JSON responses written with orjson: several times faster than the standard library on the
large bodies the dialects answer (a day of rollups, a page of 10,000 samples). The parser of
request bodies is in parsers.py."""

import orjson
from rest_framework.renderers import JSONRenderer


def _default(value):
    # Lazy translation strings and other str-like objects DRF may put in error details.
    return str(value)


class ORJSONRenderer(JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if data is None:
            return b""
        return orjson.dumps(data, default=_default, option=orjson.OPT_NON_STR_KEYS)
