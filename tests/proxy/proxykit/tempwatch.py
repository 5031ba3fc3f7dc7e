"""Watch nginx's temp directories with inotify: every file created, opened for writing, or moved
in. nginx unlinks a request-body temp file right after creating it, so listing the directory
afterwards would miss it; inotify does not."""

from __future__ import annotations

from pathlib import Path

from inotify_simple import INotify, flags

WATCHED = flags.CREATE | flags.MODIFY | flags.MOVED_TO | flags.CLOSE_WRITE


class TempWatch:
    def __init__(self, directories: list[Path]):
        self.directories = [d for d in directories if d.is_dir()]
        self.inotify = INotify()
        self.names: dict[int, Path] = {}
        self.events: list[str] = []

    def __enter__(self) -> "TempWatch":
        for directory in self.directories:
            self.names[self.inotify.add_watch(str(directory), WATCHED)] = directory
        return self

    def collect(self) -> list[str]:
        for event in self.inotify.read(timeout=0):
            kinds = "|".join(str(f.name) for f in flags.from_mask(event.mask))
            self.events.append(f"{self.names.get(event.wd, '?')}/{event.name} {kinds}")
        return self.events

    def __exit__(self, *exc: object) -> None:
        self.collect()
        self.inotify.close()


def temp_directories(runtime_dir: Path) -> list[Path]:
    """The runtime directory and every temp directory nginx made in it."""
    return [runtime_dir, *sorted(p for p in runtime_dir.iterdir() if p.is_dir())]
