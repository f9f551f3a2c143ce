"""`{% cachedfragment %}`: a part of a page cached by release revision, CSRF tokens kept per user.

    {% load fragments %}
    {% cachedfragment "checklist" release.pk release.revision can_write %}...{% endcachedfragment %}

The key is the fragment's name and the values after it (a release's pk, created_at and
revision: created_at tells apart two releases that reused one pk, as tests do); every workflow change bumps
`Release.revision`, so a changed release gets a new key and an old entry is never read
again (no invalidation, and it is correct with one cache per process). Put in the key
everything else the fragment depends on (the user's rights, never the user's name).

Fragments holding `{% csrf_token %}` get the request's own token on the way out. The
fragment is rendered with a marker in the token's place that is drawn at random for that
one rendering, and cached as the pieces of HTML between the markers: the token goes only
where the template put one, never where user-written text happens to contain a marker (it
cannot know one; a fixed placeholder string once let evidence carry the next viewer's
token). A context with `item_errors` (a refused change being shown) renders fresh.
Entries live RELEASEGATE_FRAGMENT_CACHE_SECONDS (relative times such as "5 minutes ago"
drift at most that long); 0 turns the cache off.
"""

from __future__ import annotations

import hashlib
import secrets

from django import template
from django.conf import settings
from django.core.cache import cache
from django.middleware.csrf import get_token
from django.utils.safestring import mark_safe

register = template.Library()
PREFIX = "rg:fragment"


def fragment_key(name: str, parts) -> str:
    raw = ":".join(str(part) for part in parts)
    return f"{PREFIX}:{name}:{hashlib.sha256(raw.encode()).hexdigest()[:32]}"


class CachedFragmentNode(template.Node):
    def __init__(self, nodelist, name, parts):
        self.nodelist, self.name, self.parts = nodelist, name, parts

    def render(self, context) -> str:
        seconds = getattr(settings, "RELEASEGATE_FRAGMENT_CACHE_SECONDS", 60)
        if not seconds or context.get("item_errors"):
            return self.nodelist.render(context)
        key = fragment_key(self.name.resolve(context), [part.resolve(context) for part in self.parts])
        pieces = cache.get(key)
        if not isinstance(pieces, list):
            # Hex only: the csrf_token tag puts it in an attribute unchanged by escaping.
            marker = f"rgcsrf{secrets.token_hex(16)}"
            with context.push(csrf_token=marker):
                pieces = str(self.nodelist.render(context)).split(marker)
            cache.set(key, pieces, seconds)
        request = context.get("request")
        token = get_token(request) if len(pieces) > 1 and request is not None else ""
        # The pieces are this template's own autoescaped output; the token is [A-Za-z0-9] only.
        return mark_safe(token.join(pieces))  # noqa: S308  # nosec B308 B703


@register.tag
def cachedfragment(parser, token):
    bits = token.split_contents()
    if len(bits) < 3:
        raise template.TemplateSyntaxError("cachedfragment needs a name and at least one key value")
    nodelist = parser.parse(("endcachedfragment",))
    parser.delete_first_token()
    return CachedFragmentNode(
        nodelist, parser.compile_filter(bits[1]), [parser.compile_filter(b) for b in bits[2:]]
    )
