"""What every chart the bot draws shares: the fonts, text as matplotlib shows it, and the PNG.

**Fonts.** Charts draw with a fallback list (``FONTS``): DejaVu Sans first (Latin, Greek,
Cyrillic, accents, arrows), then Noto Sans (Debian's ``fonts-noto-core``: more scripts), Noto
Sans CJK (``fonts-noto-cjk``: Chinese, Japanese, Korean) and Symbola (``fonts-symbola``:
emoji, monochrome), each only if installed (``.ci/run`` installs them). matplotlib's Agg
canvas cannot draw colour emoji (Noto Color Emoji is a bitmap font it does not render
reliably), so emoji come from Symbola's outlines. A character no installed font has is never
left to draw as a box with a "missing glyph" warning: ``drawable`` writes an emoji as its
``:shortcode:`` (from its Unicode name: 🚀 is ``:rocket:``) and anything else as ``?``.

matplotlib is imported inside the functions (Agg canvas, no pyplot and no global backend
switch), so the app starts without paying for it and renders safely from any thread.
"""

from __future__ import annotations

import io
import os
import unicodedata
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# The fallback list, in order; the ones not installed are left out (``installed_fonts``).
FONTS = ("DejaVu Sans", "Noto Sans", "Noto Sans CJK JP", "Symbola")
_VARIATION = {0xFE0E, 0xFE0F, 0x200D}  # emoji presentation selectors and the joiner


# The file each family comes in (Debian's packages), found on disk when matplotlib's font
# cache was built before the font was installed (its cache never rescans by itself).
_FILES = {
    "Noto Sans": "NotoSans-Regular.",
    "Noto Sans CJK JP": "NotoSansCJK-Regular.",
    "Symbola": "Symbola",
}


@cache
def installed_fonts() -> tuple[tuple[str, frozenset[int]], ...]:
    """The fonts of ``FONTS`` this machine has, each with the characters it covers."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    def find(family: str) -> str | None:
        props = font_manager.FontProperties(family=family)
        try:
            return str(font_manager.findfont(props, fallback_to_default=False))
        except ValueError:
            pass
        prefix = _FILES.get(family)
        files = [
            f
            for f in font_manager.findSystemFonts()
            if prefix and os.path.basename(f).startswith(prefix)
        ]
        if not files:
            return None
        font_manager.fontManager.addfont(sorted(files)[0])
        try:
            return str(font_manager.findfont(props, fallback_to_default=False))
        except ValueError:
            return None

    found = []
    for family in FONTS:
        path = find(family)
        if path is not None:
            found.append((family, frozenset(FT2Font(path).get_charmap())))
    return tuple(found)


def families() -> list[str]:
    """The font family list for matplotlib's ``font.family`` (fallback in this order)."""
    return [family for family, _ in installed_fonts()] or ["DejaVu Sans"]


def _covered(char: str) -> bool:
    code = ord(char)
    return any(code in chars for _, chars in installed_fonts())


def _is_emoji(char: str) -> bool:
    return unicodedata.category(char) == "So" and ord(char) >= 0x2190


def drawable(text: str) -> str:
    """``text`` with every character the installed fonts lack replaced: an emoji by its
    ``:shortcode:``, anything else by ``?``; control characters and emoji selectors dropped."""
    out = []
    for char in text:
        if ord(char) in _VARIATION or unicodedata.category(char) in ("Cc", "Cf"):
            continue
        if _covered(char):
            out.append(char)
        elif _is_emoji(char):
            name = unicodedata.name(char, "emoji").lower().replace(" ", "_")
            out.append(f":{name}:")
        else:
            out.append("?")
    return "".join(out)


def plain_text(text: str, limit: int) -> str:
    """A user's text as matplotlib shows it literally: one line, cut to ``limit``, every
    character drawable (``drawable``) and every ``$`` escaped so no mathtext is ever parsed."""
    line = " ".join(text.split())
    if len(line) > limit:
        line = line[: limit - 1] + "…"
    return drawable(line).replace("$", r"\$")


def render(build: Callable[[], Figure]) -> bytes:
    """The figure ``build`` makes, drawn with the fallback fonts (text takes its font when it
    is made, so the figure is built inside them), as a PNG; the figure is cleared after."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    out = io.BytesIO()
    with matplotlib.rc_context({"text.usetex": False, "font.family": families()}):
        fig = build()
        # zlib level 1: ~5x faster to encode than the default 6, for a slightly bigger file.
        # (print_figure, typed, renders through print_png with the figure's dpi and colours)
        FigureCanvasAgg(fig).print_figure(
            out, format="png", metadata={"Software": None}, pil_kwargs={"compress_level": 1}
        )
    # A figure is a web of reference cycles (figure, axes, artists, canvas): cleared here,
    # most of it is freed at once instead of piling up for the cyclic collector, whose full
    # passes over it stalled every tenth render by ~200 ms.
    fig.clear()
    return out.getvalue()
