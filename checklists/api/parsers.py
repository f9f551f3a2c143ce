"""JSON parsing that refuses absurd bodies with 400 instead of failing with 500."""

from __future__ import annotations

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, plus a 400 for nesting deeper than Python's recursion limit.

    `[[[[...]]]]` a hundred thousand deep makes the json module raise RecursionError,
    which is not a ValueError, so DRF would let it through as a server error.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None
