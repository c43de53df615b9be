"""The runbook (docs/OPERATIONS.md) as a web page at ``/runbook``, each section linkable.

Alerts link ``<STRAUM_RUNBOOK_URL>#<section>``; without that setting the URL is this page, so
a link in a webhook, in Alertmanager or on ``/ops`` opens the section it names wherever straum
runs, with nothing else to host. Headings get GitHub's anchors (lower case, punctuation
dropped, spaces as hyphens), so the same links work on the repository's rendering of the file.
The Markdown is rendered with markdown-it-py (CommonMark, tables), raw HTML off.
"""

from __future__ import annotations

import html
import re
from functools import cache
from importlib import resources
from pathlib import Path

from markdown_it import MarkdownIt

CHECKOUT_COPY = Path(__file__).resolve().parents[2] / "docs" / "OPERATIONS.md"


def source() -> str:
    """The runbook's Markdown: the checkout's docs/OPERATIONS.md, or the copy in the wheel."""
    if CHECKOUT_COPY.exists():
        return CHECKOUT_COPY.read_text(encoding="utf-8")
    return resources.files("straum").joinpath("OPERATIONS.md").read_text(encoding="utf-8")


def anchor(title: str) -> str:
    """GitHub's anchor of a heading: ``### forwarding-stopped`` -> ``forwarding-stopped``."""
    slug = re.sub(r"[^\w\- ]", "", title.strip().lower())
    return slug.replace(" ", "-")


@cache
def page() -> str:
    """The runbook as one HTML page."""
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    tokens = md.parse(source())
    seen: dict[str, int] = {}
    title = "straum runbook"
    for i, token in enumerate(tokens):
        if token.type == "heading_open":
            text = tokens[i + 1].content
            slug = anchor(text)
            seen[slug] = seen.get(slug, -1) + 1
            token.attrSet("id", slug if seen[slug] == 0 else f"{slug}-{seen[slug]}")
            if token.tag == "h1":
                title = text
    body = md.renderer.render(tokens, md.options, {})
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>
  body {{ font: 15px/1.55 system-ui, sans-serif; max-width: 58rem; margin: 0 auto;
         padding: 1rem 1.5rem 4rem; color: #202124; }}
  h1, h2, h3 {{ line-height: 1.25; }} h2 {{ border-bottom: 1px solid #ddd; padding-bottom: .2rem; }}
  :target {{ background: #fff3c4; }}
  code {{ background: #f3f3f3; padding: 0 .2rem; border-radius: 3px; }}
  pre {{ background: #f6f8fa; padding: .8rem; overflow-x: auto; }}
  pre code {{ background: none; padding: 0; }}
  table {{ border-collapse: collapse; }} th, td {{ border: 1px solid #ddd; padding: .3rem .5rem; }}
  nav {{ font-size: .9rem; color: #5f6368; }}
</style></head>
<body><nav><a href="/ops">← operations page</a></nav>
{body}</body></html>"""
