"""Safe HTML from untrusted strings: every caption, name and parameter passes through here.

Text is escaped with ``html.escape``; data for scripts is JSON whose ``<``,
``>``, ``&`` and line separators are \\u-escaped, so no string in it can close
the ``<script>`` element it lives in.
"""

from __future__ import annotations

import html
import json
import math


def esc(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def attrs(**values) -> str:
    """` name="value"` pairs, escaped; ``class_`` is written ``class``; None values are left out."""
    return "".join(f' {k.rstrip("_").replace("_", "-")}="{esc(v)}"' for k, v in values.items() if v is not None)


def tag(name: str, body: str = "", **values) -> str:
    """An element around ``body``, which must already be safe markup."""
    return f"<{name}{attrs(**values)}>{body}</{name}>"


def _clean(obj):
    """NaN and infinity become null: JSON.parse rejects them."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item"):  # numpy scalars
        return _clean(obj.item())
    return obj


def script_json(obj) -> str:
    """JSON that is safe inside ``<script type="application/json">``."""
    text = json.dumps(_clean(obj), ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
