"""Checking what a Socket.IO client receives against the AsyncAPI document's message schemas."""
from __future__ import annotations

from collections.abc import Sequence

import jsonschema_rs

DOCUMENT_URI = "urn:ui-connector-asyncapi"


class SocketContract:
    """The document's messages by what a client sees: server events by name, acks by the event they answer.

    Operations name their messages through the channel (``#/channels/C/messages/M``), which refers to
    the component (``#/components/messages/M``); schemas are checked at the component.
    """

    def __init__(self, document: dict):
        self._document = document
        self._registry = jsonschema_rs.Registry([(DOCUMENT_URI, document)], draft=jsonschema_rs.Draft7)
        operations = document["operations"].values()
        self._events = {self._name(ref): self._component(ref)
                        for operation in operations if operation["action"] == "send" for ref in operation["messages"]}
        self._acks = {self._name(operation["messages"][0]): self._component(operation["reply"]["messages"][0])
                      for operation in operations if operation["action"] == "receive" and "reply" in operation}
        self._validators = {message: jsonschema_rs.Draft7Validator({"$ref": f"{DOCUMENT_URI}{message}/payload"},
                                                                   registry=self._registry)
                            for message in {*self._events.values(), *self._acks.values()}}

    def server_events(self) -> set[str]:
        return set(self._events)

    def acknowledged_events(self) -> set[str]:
        return set(self._acks)

    def check_event(self, name: str, payload: object) -> None:
        """Raise unless ``payload`` is what the document says event ``name`` carries, every field of it documented."""
        assert name in self._events, f"the document has no server event {name!r}"
        self._validators[self._events[name]].validate(payload)
        documented = self._resolve(self._events[name])["payload"].get("properties")
        if documented is not None and isinstance(payload, dict):
            assert set(payload) <= set(documented), f"{name} carries undocumented fields {set(payload) - set(documented)}"

    def check_ack(self, event: str, arguments: Sequence) -> None:
        """Raise unless ``arguments`` (what the ack callback got) is a documented answer to ``event``."""
        assert event in self._acks, f"the document has no acknowledged client event {event!r}"
        self._validators[self._acks[event]].validate(list(arguments))

    def _component(self, channel_message: dict) -> str:
        return self._resolve(channel_message["$ref"])["$ref"]

    def _name(self, channel_message: dict) -> str:
        return self._resolve(self._component(channel_message))["name"]

    def _resolve(self, pointer: str) -> dict:
        node = self._document
        for part in pointer.removeprefix("#/").split("/"):
            node = node[part]
        return node
