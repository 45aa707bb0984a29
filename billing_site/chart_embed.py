"""A plotly figure in a page without inline script.

The figure travels as a JSON data block (``<script type="application/json">``, which
browsers never execute, so the Content-Security-Policy allows it) next to an empty
``div``; ``static/js/pages.js`` draws every such block with the page's plotly.js.
"""

from itertools import count

from django.utils.html import format_html
from django.utils.safestring import mark_safe

_ids = count(1)

# As in Django's json_script: nothing in the data can close the script element.
_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


def figure_embed(figure) -> str:
    """The figure's placeholder and data block, safe to put in a template as is."""
    element_id = f"chart-{next(_ids)}"
    # Escaped for the script element above; HTML escaping would corrupt the JSON.
    data = mark_safe(figure.to_json().translate(_ESCAPES))
    return format_html(
        '<div class="plotly-graph-div chart" id="{}"></div>'
        '<script type="application/json" data-chart="{}">{}</script>',
        element_id,
        element_id,
        data,
    )
