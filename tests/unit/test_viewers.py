"""Who watches what, and how far each viewer has got."""
from __future__ import annotations

from ui_connector.viewers import Viewer, ViewerRegistry


def test_a_viewer_advances_only_to_later_events():
    viewer = Viewer("sid", "eio", "5-0")
    assert not viewer.advance("4-9", (4, 9))
    assert not viewer.advance("5-0", (5, 0))
    assert viewer.advance("5-1", (5, 1)) and viewer.cursor == "5-1"


def test_a_desktop_joining_twice_keeps_its_first_viewer():
    registry = ViewerRegistry()
    first = registry.add("c", Viewer("sid", "eio"))
    assert registry.add("c", Viewer("sid", "eio")) is first
    assert registry.counts() == {"c": 1}


def test_removing_the_last_viewer_says_so_and_a_stale_viewer_removes_nothing():
    registry = ViewerRegistry()
    old = registry.add("c", Viewer("a", "eio-a"))
    other = registry.add("c", Viewer("b", "eio-b"))
    assert registry.remove("c", old) is False
    replacement = registry.add("c", Viewer("a", "eio-a2"))
    assert registry.remove("c", old) is False, "a viewer that already left cannot remove the desktop's new one"
    assert registry.is_current("c", replacement)
    assert registry.remove("c", replacement) is False and registry.remove("c", other) is True
    assert not registry.watched("c")


def test_a_desktops_conversations_are_found_without_scanning_them_all():
    registry = ViewerRegistry()
    for conversation in ("c1", "c2"):
        registry.add(conversation, Viewer("sid", "eio"))
    registry.add("c3", Viewer("other", "eio-2"))
    assert set(registry.of_desktop("sid")) == {"c1", "c2"}
    for conversation, viewer in registry.of_desktop("sid").items():
        registry.remove(conversation, viewer)
    assert registry.of_desktop("sid") == {} and registry.counts() == {"c3": 1}
