"""Plain-text rendering helpers for the human-readable reports (tables, sizes, shapes)."""

from __future__ import annotations

from collections.abc import Sequence


def format_bytes(count: int | None) -> str:
    """``1536`` -> ``"1.5 KiB"``; exact bytes below 1 KiB."""
    if count is None:
        return "?"
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"


def format_shape(shape: Sequence[int] | None) -> str:
    """``[-1, 28, 28]`` -> ``"[?,28,28]"``; None (unknown rank) -> ``"?"``."""
    if shape is None:
        return "?"
    return "[" + ",".join("?" if d < 0 else str(d) for d in shape) + "]"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, right: Sequence[int] = ()) -> str:
    """A fixed-width text table; columns listed in ``right`` are right-aligned."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for index, row in enumerate(cells):
        pairs = enumerate(zip(row, widths, strict=True))
        parts = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in pairs]
        lines.append("  ".join(parts).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def heading(text: str) -> str:
    return f"\n{text}\n"
