"""Who watches which conversation on this instance, and how far each of them has got."""
from __future__ import annotations

from dataclasses import dataclass, field

from aa_common.event_store import parse_event_id

START_OF_STREAM = "0-0"


@dataclass(eq=False)
class Viewer:
    """One desktop's view of one conversation.

    ``cursor`` is the id of the last event it was sent; ``catching_up`` while the stream is
    being replayed to it (live events then wait in the stream); ``missed_live`` when a live
    event arrived meanwhile, so the replay reads on.
    """

    sid: str
    eio_sid: str
    cursor: str = START_OF_STREAM
    catching_up: bool = True
    missed_live: bool = False
    _position: tuple[int, int] = field(default=(0, 0), repr=False)

    def __post_init__(self) -> None:
        self._position = parse_event_id(self.cursor)

    def advance(self, event_id: str, position: tuple[int, int]) -> bool:
        """Move the cursor to ``event_id``; False (and no move) when the viewer already has it."""
        if position <= self._position:
            return False
        self._position = position
        self.cursor = event_id
        return True


class ViewerRegistry:
    def __init__(self) -> None:
        self._by_conversation: dict[str, dict[str, Viewer]] = {}
        self._by_sid: dict[str, set[str]] = {}

    def add(self, conversation: str, viewer: Viewer) -> Viewer:
        """Register ``viewer`` and return it, unless its desktop already watches ``conversation``:
        then the viewer it has is returned."""
        viewers = self._by_conversation.setdefault(conversation, {})
        existing = viewers.get(viewer.sid)
        if existing is not None:
            return existing
        viewers[viewer.sid] = viewer
        self._by_sid.setdefault(viewer.sid, set()).add(conversation)
        return viewer

    def remove(self, conversation: str, viewer: Viewer) -> bool:
        """Remove this viewer (not a later one of the same desktop); True when it was the last one."""
        viewers = self._by_conversation.get(conversation)
        if viewers is None or viewers.get(viewer.sid) is not viewer:
            return False
        del viewers[viewer.sid]
        conversations = self._by_sid.get(viewer.sid)
        if conversations is not None:
            conversations.discard(conversation)
            if not conversations:
                del self._by_sid[viewer.sid]
        if viewers:
            return False
        del self._by_conversation[conversation]
        return True

    def get(self, conversation: str, sid: str) -> Viewer | None:
        return self._by_conversation.get(conversation, {}).get(sid)

    def is_current(self, conversation: str, viewer: Viewer) -> bool:
        return self.get(conversation, viewer.sid) is viewer

    def of_conversation(self, conversation: str) -> list[Viewer]:
        return list(self._by_conversation.get(conversation, {}).values())

    def of_desktop(self, sid: str) -> dict[str, Viewer]:
        """The conversations ``sid`` watches, with its viewer of each."""
        return {conversation: self._by_conversation[conversation][sid] for conversation in self._by_sid.get(sid, ())}

    def watched(self, conversation: str) -> bool:
        return conversation in self._by_conversation

    def counts(self) -> dict[str, int]:
        """Viewers per conversation."""
        return {conversation: len(viewers) for conversation, viewers in self._by_conversation.items()}
