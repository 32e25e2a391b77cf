"""The proxy's allow-list, checked against Google's published REST discovery documents.

Every method of the Dialogflow v2 and v2beta1 discovery documents (as google-api-python-client
ships them) is either served by the proxy, under exactly its discovery name, or listed in
``EXCLUDED`` with the reason a desktop must not or need not call it. A method Google adds to a
resource this proxy serves fails here until someone decides which it is.
"""
from __future__ import annotations

import json
import re
from fnmatch import fnmatchcase
from pathlib import Path

import googleapiclient
import pytest

from ui_connector.dialogflow_proxy import ALLOWED_METHODS, MethodNotAllowed, UnknownRoute, match

DOCUMENTS = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents"
VERSIONS = ("v2", "v2beta1")

# Discovery method names (without ``projects.`` and ``locations.``; ``*`` matches the rest), and why
# the proxy refuses them. Everything a desktop needs during a conversation is served.
EXCLUDED: dict[str, str] = {
    # Listing the project's data: a desktop sees the conversations and records it takes part in,
    # never every agent's customers.
    "conversations.list": "lists every conversation of the project, other agents' customers included",
    "answerRecords.list": "lists every answer record of the project, across all conversations",
    "answerRecords.get": "a desktop gets each answer record with its suggestion; reading records back "
                         "is analytics, not agent work",
    "conversations.participants.suggestions.list": "deprecated (v2beta1 only): replaced by the suggest* "
                                                   "methods and the suggestion notifications",
    "conversations.participants.suggestions.compile": "deprecated (v2beta1 only), as suggestions.list",
    "conversations.ingestContextReferences": "feeds CRM context to generators: an integration back end's "
                                             "call with its own credentials, not the agent's",
    "suggestions.generateStatelessSummary": "summarises a transcript the caller supplies, for back ends "
                                            "that keep conversations outside Dialogflow; a desktop's "
                                            "conversation is in Dialogflow (suggestConversationSummary)",
    # Configuration a desktop reads by name but must never change or enumerate.
    "conversationProfiles.create": "administration: profiles are set up by operators",
    "conversationProfiles.patch": "administration",
    "conversationProfiles.delete": "administration",
    "conversationProfiles.list": "administration: a desktop is configured with its profile's name",
    "conversationProfiles.setSuggestionFeatureConfig": "administration",
    "conversationProfiles.clearSuggestionFeatureConfig": "administration",
    "conversationModels.create": "administration: model training",
    "conversationModels.delete": "administration",
    "conversationModels.deploy": "administration",
    "conversationModels.undeploy": "administration",
    "conversationModels.list": "administration",
    "conversationModels.evaluations.*": "administration: model quality",
    "conversationDatasets.*": "administration: training data",
    "generators.create": "administration: generators are set up by operators",
    "generators.patch": "administration",
    "generators.delete": "administration",
    "generators.list": "administration: a desktop is configured with its generators' names",
    "generators.evaluations.*": "administration: generator quality",
    "knowledgeBases.*": "knowledge management: documents and knowledge bases are curated by operators; "
                        "desktops get answers through the suggest* and searchKnowledge methods",
    # Outside Agent Assist: Dialogflow ES agent design and telephony, and the service's own plumbing.
    "agent.*": "Dialogflow ES agent design and its sessions (bots, not agent assistance)",
    "getAgent": "Dialogflow ES agent design",
    "setAgent": "Dialogflow ES agent design",
    "deleteAgent": "Dialogflow ES agent design",
    "locations.getAgent": "Dialogflow ES agent design",
    "locations.setAgent": "Dialogflow ES agent design",
    "locations.deleteAgent": "Dialogflow ES agent design",
    "locations.get": "the Location resource itself",
    "locations.list": "the project's locations",
    "locations.getEncryptionSpec": "administration: customer-managed encryption keys",
    "encryptionSpec.initialize": "administration: customer-managed encryption keys",
    "companionAgents.*": "administration: companion agent configuration",
    "tools.*": "administration: tools for generators and agents",
    "sipTrunks.*": "telephony administration",
    "phoneNumbers.*": "telephony administration",
    "operations.*": "long-running operations of the administration methods above",
}


def dotted_name(method_id: str) -> str:
    """``dialogflow.projects[.locations].conversations.create`` -> ``conversations.create``; methods
    of a location itself keep their ``locations.`` (``locations.get``)."""
    parts = method_id.split(".")[2:]
    if parts[0] == "locations" and len(parts) > 2:
        parts = parts[1:]
    return ".".join(parts)


def concrete_path(flat_path: str) -> str:
    """A request path for a discovery ``flatPath``: each ``{xId}`` placeholder becomes a plausible id."""
    ids = {"projectsId": "my-proj", "locationsId": "us-central1"}
    return "/" + re.sub(r"\{(\w+)\}", lambda m: ids.get(m.group(1), f"{m.group(1)[:-3]}-1"), flat_path)


def discovery_methods(version: str) -> list[tuple[str, str, str]]:
    """``(dotted name, HTTP verb, concrete path)`` of every method in a version's document."""
    document = json.loads((DOCUMENTS / f"dialogflow.{version}.json").read_text())
    found: list[tuple[str, str, str]] = []

    def walk(resources: dict) -> None:
        for resource in resources.values():
            for method in resource.get("methods", {}).values():
                found.append((dotted_name(method["id"]), method["httpMethod"], concrete_path(method["flatPath"])))
            walk(resource.get("resources", {}))

    walk(document["resources"])
    return found


ALL_METHODS = [entry for version in VERSIONS for entry in discovery_methods(version)]


def exclusion(name: str) -> str | None:
    return next((reason for pattern, reason in EXCLUDED.items() if fnmatchcase(name, pattern)), None)


def served(verb: str, path: str) -> str | None:
    """The proxied method's name when the proxy serves ``verb path``, else None."""
    try:
        return match(verb, path).name
    except (UnknownRoute, MethodNotAllowed):
        return None


def test_the_documents_are_there_and_list_agent_assist():
    names = {name for name, _, _ in ALL_METHODS}
    assert {"conversations.create", "conversations.participants.analyzeContent",
            "conversations.suggestions.searchKnowledge"} <= names


@pytest.mark.parametrize("name,verb,path", ALL_METHODS, ids=[f"{verb} {path}" for _, verb, path in ALL_METHODS])
def test_each_documented_method_is_served_or_excluded_with_a_reason(name, verb, path):
    reason = exclusion(name)
    if reason is None:
        assert served(verb, path) == name, f"{verb} {path} ({name}) is neither served nor excluded"
    else:
        assert served(verb, path) is None, f"{name} is excluded ({reason}) but served"


def test_every_allowed_method_is_a_documented_one():
    documented = {name for name, _, _ in ALL_METHODS}
    assert {name for _, _, name in ALLOWED_METHODS} - documented == set()


def test_every_exclusion_names_a_documented_method():
    names = [name for name, _, _ in ALL_METHODS]
    assert [pattern for pattern in EXCLUDED if not any(fnmatchcase(name, pattern) for name in names)] == []
