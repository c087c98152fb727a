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
        return self._built[1]

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.lines(width))

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        lines = self.lines()
        if y >= len(lines):
            return Strip.blank(width, self.rich_style)
        return Strip(lines[y]).crop(0, width).extend_cell_length(width, self.rich_style).apply_style(self.rich_style)

    def plain(self) -> str:
        """The text of every line (for tests and screen readers)."""
        return "\n".join("".join(s.text for s in line) for line in self.lines())
