"""A widget drawn as ready-made lines of Rich segments (Textual's line API).

Pictures made of half-blocks have a different style in every cell; handing Textual segments
directly skips converting thousands of styled spans per frame, which keeps keys fast."""
from __future__ import annotations

from rich.segment import Segment
from rich.text import Text
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget

Line = list[Segment]


def text_lines(text: Text, console) -> list[Line]:
    """A (multi-line) rich Text as lines of segments; markup is never parsed."""
    return [list(line) for line in Segment.split_lines(text.render(console, end=""))]


class SegmentBox(Widget):
    """Subclasses implement `build(width)` and call `changed()` when their data changes."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._serial = 0
        self._built: tuple[tuple, list[Line]] | None = None
        self._strips: dict[int, Strip] = {}

    def build(self, width: int) -> list[Line]:  # pragma: no cover - overridden
        raise NotImplementedError

    def changed(self) -> None:
        self._serial += 1
        self.refresh(layout=True)

    def lines(self, width: int | None = None) -> list[Line]:
        width = self.size.width if width is None else width
        key = (self._serial, width)
        if self._built is None or self._built[0] != key:
            self._built = (key, self.build(width))
            self._strips = {}
        return self._built[1]

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.lines(width))

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        lines = self.lines()
        strip = self._strips.get(y)
        if strip is None or strip.cell_length != width:
            if y >= len(lines):
                strip = Strip.blank(width, self.rich_style)
            else:
                line = lines[y]
                strip = Strip(line, Segment.get_line_length(line)).crop_extend(0, width, self.rich_style)
                strip = strip.apply_style(self.rich_style)
            self._strips[y] = strip
        return strip

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips = {}

    def plain(self) -> str:
        """The text of every line (for tests and screen readers)."""
        return "\n".join("".join(s.text for s in line) for line in self.lines())
