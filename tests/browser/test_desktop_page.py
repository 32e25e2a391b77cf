"""The agent desktop page in headless Chromium, against the whole local stack as `make dev` starts
it: every transcript line and suggestion on screen went Dialogflow emulator → Pub/Sub emulator
push → interceptor → Redis → UI connector → Socket.IO."""
from __future__ import annotations

import json
import os
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from aa_common.events import EventKind
from devstack.processes import REPO_ROOT
from devstack.stack import LocalStack
from tests.support import event_for, fixture_event, new_conversation, push
from ui_connector.desktop_page import SOCKET_API
from ui_connector.sockets import Refusal

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
# Headless, and quiet: this network is closed, so Chromium's own outbound connections are off.
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = REPO_ROOT / "artifacts"
VIEWPORT = {"width": 1280, "height": 800}
WAIT_MS = 15_000
CONVERSATION_NAME = re.compile(r"^projects/aa-local/locations/global/conversations/[A-Za-z0-9_-]+$")
ANSWER_RECORD = re.compile(r"projects/aa-local/locations/global/answerRecords/[A-Za-z0-9_-]+")

# The emulator's knowledge base files CUSTOMER_TURN under "change-flight" (first smart reply:
# REPLY) and SECOND_CUSTOMER_TURN under "seat" (FAQ question: SEAT_FAQ).
CUSTOMER_TURN = "Hi, I need to change my flight to Friday."
REPLY = "Sure, which day works for you?"
SECOND_CUSTOMER_TURN = "Friday morning, please. Can I also get a window seat?"
SEAT_FAQ = "Can I choose my seat?"
SECOND_AGENT_TURN = "Seat selection is free at online check-in; I have noted a window seat for you."


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is missing; CI must install Debian's chromium (`apt-get install chromium`)",
                    pytrace=False)
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory):
    require_chromium()
    stack = LocalStack(state_dir=tmp_path_factory.mktemp("desktop-stack")).start()
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def browser(local_stack):
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


class Desktop:
    """One browser tab on the desktop page, recording everything the page logs."""

    def __init__(self, browser, url: str):
        self.url = url
        self.context = browser.new_context(viewport=VIEWPORT)
        self.page = self.context.new_page()
        self.console: list[str] = []
        self.page.on("console", lambda message: self.console.append(f"{message.type}: {message.text}"))
        self.page.on("pageerror", lambda error: self.console.append(f"uncaught: {error}"))
        # Content-Security-Policy violations, reported to the console like any other problem.
        self.context.add_init_script(
            "document.addEventListener('securitypolicyviolation', (event) =>"
            " console.error(`CSP violation: ${event.effectiveDirective} ${event.blockedURI}`))")

    def open(self) -> "Desktop":
        self.page.goto(self.url)
        expect(self.by("connection-state")).to_have_attribute("data-state", "connected")
        return self

    def by(self, test_id: str):
        return self.page.get_by_test_id(test_id)

    @property
    def lines(self):
        return self.by("transcript").get_by_test_id("transcript-line")

    @property
    def suggestions(self):
        return self.by("suggestions").get_by_test_id("suggestion")

    def start_conversation(self) -> str:
        self.by("start-conversation").click()
        expect(self.by("conversation-name")).to_have_text(CONVERSATION_NAME)
        expect(self.by("status")).to_have_text("Conversation started.")  # the lifecycle event arrived
        return self.by("conversation-name").inner_text()

    def watch(self, name: str) -> None:
        self.page.get_by_text("Watch an existing conversation").click()
        self.by("join-input").fill(name)
        self.by("join-input").press("Enter")

    def say(self, role: str, text: str) -> None:
        box = self.by(f"{role}-input")
        box.fill(text)
        box.press("Enter")
        expect(box).to_have_value("")

    def expect_line(self, index: int, role: str, text: str) -> None:
        line = self.lines.nth(index)
        expect(line).to_have_attribute("data-role", role)
        expect(line.locator(".turn-text")).to_have_text(text)

    def assert_quiet_and_no_token_exposed(self) -> None:
        """Nothing logged to the console; no JWT in the DOM, in storage or in cookies."""
        stored = self.page.evaluate("JSON.stringify([{...sessionStorage}, {...localStorage}, document.cookie])")
        assert not re.search(r"eyJ[\w-]+\.", self.page.content() + stored), "a JWT reached the DOM or storage"
        assert self.console == []


@pytest.fixture
def new_desktop(browser, local_stack):
    desktops: list[Desktop] = []

    def new_one() -> Desktop:
        desktops.append(Desktop(browser, local_stack.url("ui-connector") + "/"))
        return desktops[-1]

    yield new_one
    for desktop in desktops:
        desktop.context.close()


class OtherSite:
    """A site of another origin (a port of its own) serving the one page a test writes."""

    def __init__(self):
        self.html = ""
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = site.html.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def other_site():
    site = OtherSite()
    yield site
    site.close()


def wait_until(page, condition, what: str) -> None:
    """Waits for a condition on what route handlers recorded (they run while the page waits)."""
    for _ in range(WAIT_MS // 50):
        if condition():
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"timed out waiting for {what}")


def feedback_received(local_stack) -> list[dict]:
    response = requests.get(f"{local_stack.url('dialogflow-emulator')}/emulator/feedback", timeout=5)
    response.raise_for_status()
    return response.json()["feedback"]


def expect_feedback_sent(desktop: Desktop, suggestion, local_stack) -> str:
    """The suggestion shows as used, and Dialogflow got "clicked" feedback on its answer record."""
    expect(suggestion).to_have_attribute("data-feedback", "sent")
    expect(suggestion).to_contain_text("Used")
    record = suggestion.get_attribute("data-answer-record")
    assert ANSWER_RECORD.fullmatch(record)
    assert [entry["answerFeedback"] for entry in feedback_received(local_stack) if entry["answerRecord"] == record] \
        == [{"clicked": True, "correctnessLevel": "FULLY_CORRECT"}]
    return record


def test_turns_and_suggestions_arrive_over_socketio_and_feedback_reaches_dialogflow(new_desktop, local_stack):
    assert local_stack.pubsub is not None, "the Pub/Sub emulator should carry the notifications here"
    desktop = new_desktop()
    # The page must build the transcript from events: analyzeContent answers it nothing useful.
    desktop.page.route(re.compile(r".*:analyzeContent$"),
                       lambda route: route.fulfill(response=route.fetch(), body="{}"))
    desktop.open().start_conversation()

    desktop.say("customer", CUSTOMER_TURN)

    expect(desktop.lines).to_have_count(1)
    desktop.expect_line(0, "END_USER", CUSTOMER_TURN)
    group = desktop.by("suggestion-group").first
    expect(group).to_contain_text(f"For “{CUSTOMER_TURN}”")
    for kind, text in [("smart-reply", REPLY), ("knowledge-assist", "change flight date"),
                       ("faq", "How do I change my flight?"), ("article", "Change a booking")]:
        expect(group.locator(f'[data-testid="suggestion"][data-kind="{kind}"]').first).to_contain_text(text)

    reply = desktop.suggestions.filter(has_text=REPLY)
    reply.click()

    record = expect_feedback_sent(desktop, reply, local_stack)
    expect(desktop.by("agent-input")).to_have_value(REPLY)
    expect(desktop.by("agent-input")).to_be_focused()
    desktop.by("agent-input").press("Enter")

    expect(desktop.lines).to_have_count(2)
    desktop.expect_line(1, "HUMAN_AGENT", REPLY)

    desktop.say("customer", SECOND_CUSTOMER_TURN)
    expect(desktop.lines).to_have_count(3)
    expect(desktop.by("suggestion-group")).to_have_count(2)
    newest = desktop.by("suggestion-group").first
    expect(newest).to_contain_text(f"For “{SECOND_CUSTOMER_TURN}”")
    faq = newest.get_by_test_id("suggestion").filter(has_text=SEAT_FAQ)
    faq.click()
    assert expect_feedback_sent(desktop, faq, local_stack) != record
    expect(desktop.by("agent-input")).to_have_value("")  # only smart replies fill the box
    desktop.say("agent", SECOND_AGENT_TURN)
    expect(desktop.lines).to_have_count(4)
    desktop.expect_line(3, "HUMAN_AGENT", SECOND_AGENT_TURN)

    desktop.page.evaluate("document.activeElement.blur()")
    ARTIFACTS.mkdir(exist_ok=True)
    desktop.page.screenshot(path=ARTIFACTS / "desktop-page.png")
    desktop.assert_quiet_and_no_token_exposed()


def test_reload_resumes_and_a_supervisor_watches_by_name(new_desktop):
    agent = new_desktop().open()
    name = agent.start_conversation()
    agent.say("customer", CUSTOMER_TURN)
    expect(agent.suggestions.first).to_be_visible()
    suggestion_count = agent.suggestions.count()

    agent.page.reload()

    expect(agent.by("connection-state")).to_have_attribute("data-state", "connected")
    expect(agent.by("conversation-name")).to_have_text(name)
    expect(agent.lines).to_have_count(1)  # replayed once, not duplicated
    agent.expect_line(0, "END_USER", CUSTOMER_TURN)
    expect(agent.suggestions).to_have_count(suggestion_count)
    expect(agent.by("agent-input")).to_be_enabled()

    supervisor = new_desktop().open()
    supervisor.watch(name)

    expect(supervisor.by("conversation-name")).to_have_text(name)
    supervisor.expect_line(0, "END_USER", CUSTOMER_TURN)
    expect(supervisor.suggestions).to_have_count(suggestion_count)
    expect(supervisor.by("customer-input")).to_be_disabled()
    expect(supervisor.by("agent-send")).to_be_disabled()
    expect(supervisor.by("composer-hint")).to_contain_text("supervisor")

    agent.say("agent", "Let me look at Friday's flights.")
    agent.by("complete-conversation").click()

    for desktop in (agent, supervisor):
        expect(desktop.lines).to_have_count(2)
        desktop.expect_line(1, "HUMAN_AGENT", "Let me look at Friday's flights.")
        expect(desktop.by("status")).to_have_text("Conversation finished.")
        expect(desktop.by("complete-conversation")).to_be_disabled()
        desktop.assert_quiet_and_no_token_exposed()
    expect(agent.by("agent-input")).to_be_disabled()


def test_every_suggestion_kind_and_notification_is_shown(new_desktop, local_stack):
    """Dialogflow's other shapes (the emulator never sends them), pushed to the interceptor."""
    desktop = new_desktop().open()
    name = desktop.start_conversation()
    interceptor = local_stack.url("interceptor")
    articles = event_for(name, "suggestions-articles-faq-smartreply.json")
    unsafe = json.loads(json.dumps(articles).replace("https://kb.example.com/change", "javascript:alert(1)"))
    for route, event, attributes in [
        (EventKind.SUGGESTION, event_for(name, "suggestions-knowledge-generator-error.json"), None),
        (EventKind.SUGGESTION, unsafe, None),
        (EventKind.RECOGNITION, event_for(name, "new-recognition-result.json"),
         fixture_event("new-recognition-result.attributes.json")),
        (EventKind.LIFECYCLE, event_for(name, "unrecoverable-error.json"), None),
    ]:
        assert push(interceptor, route, event, attributes=attributes).status_code == 204

    expect(desktop.by("suggestion-group")).to_have_count(2)
    older, newer = desktop.by("suggestion-group").last, desktop.by("suggestion-group").first
    expect(older.get_by_test_id("suggestion")).to_have_text([
        re.compile("Generator.*Offer the Friday 9:10 flight."),
        re.compile("Knowledge assist.*change flight date.*Flights can be changed in Manage Booking"),
    ])
    expect(older.get_by_test_id("suggestion-problem")).to_have_text(
        "Some suggestions are unavailable right now (Quota exceeded for suggestion feature.).")
    expect(older.get_by_role("link")).to_have_attribute("href", "https://kb.example.com/change")
    expect(newer.get_by_test_id("suggestion")).to_have_text([
        re.compile("Smart reply.*Sure, which day works for you?"),
        re.compile("FAQ.*How do I change my flight?.*Use Manage Booking."),
        re.compile("Article.*Change a booking.*You can change flights up to 24h before departure."),
    ])
    expect(newer.get_by_role("link")).to_have_count(0)  # a javascript: address is not a link
    expect(desktop.by("interim-transcript")).to_have_text("Customer is speaking: “I need to change my fli”")
    expect(desktop.by("status")).to_have_text(
        "Dialogflow hit an unrecoverable error: Conversation profile has no valid speech config.")
    desktop.assert_quiet_and_no_token_exposed()


def test_a_refused_join_is_explained(new_desktop):
    desktop = new_desktop().open()
    desktop.watch("projects/another-project/conversations/abc")

    expect(desktop.by("alert")).to_contain_text(
        "Could not join projects/another-project/conversations/abc: conversation belongs to project "
        "'another-project'")
    expect(desktop.by("conversation-name")).to_have_text("None yet")
    expect(desktop.by("customer-input")).to_be_disabled()
    desktop.assert_quiet_and_no_token_exposed()


def test_a_join_refused_with_a_retryable_code_is_retried_whatever_its_reason(new_desktop):
    """The page retries by the code the connector marks retryable, not by the reason's words: the first join
    is answered, in the connector's place, with UNAVAILABLE and a reason that does not say so."""
    joins = []

    def refuse_the_first_join(ws):
        server = ws.connect_to_server()

        def from_page(frame):
            packet = re.fullmatch(r"42(\d+)(\[.*)", frame) if isinstance(frame, str) else None
            if packet and json.loads(packet[2])[0] == SOCKET_API["join"]:
                joins.append(frame)
                if len(joins) == 1:
                    ws.send(f"43{packet[1]}" + json.dumps([False, "resting", Refusal.UNAVAILABLE]))
                    return
            server.send(frame)

        ws.on_message(from_page)

    desktop = new_desktop()
    desktop.page.route_web_socket(re.compile(r".*/socket\.io/.*"), refuse_the_first_join)
    desktop.open()
    name = f"projects/aa-local/conversations/{new_conversation().rsplit('/', 1)[1]}"
    desktop.watch(name)

    expect(desktop.by("alert")).to_contain_text(f"Could not join {name}: resting; retrying")
    expect(desktop.by("status")).to_have_text("Joined; waiting for events…")
    expect(desktop.by("alert")).to_be_hidden()
    expect(desktop.by("conversation-name")).to_have_text(name)
    assert len(joins) == 2
    desktop.assert_quiet_and_no_token_exposed()


def test_refused_registrations_are_explained(new_desktop):
    desktop = new_desktop()
    answer = {"status": 401, "json": {"error": {"code": 401, "status": "UNAUTHENTICATED", "message": "no"}}}
    desktop.page.route("**/register", lambda route: route.fulfill(**answer))
    desktop.page.goto(desktop.url)

    expect(desktop.by("alert")).to_contain_text("the UI connector did not accept this desktop")
    expect(desktop.by("connection-state")).to_have_attribute("data-state", "offline")
    expect(desktop.by("start-conversation")).to_be_disabled()

    answer.update(status=429, headers={"Retry-After": "42"})
    desktop.by("sign-in-submit").click()
    expect(desktop.by("alert")).to_contain_text("too many refused sign-ins from this address; try again in 42 seconds")

    desktop.page.unroute("**/register")
    desktop.by("sign-in-submit").click()
    expect(desktop.by("connection-state")).to_have_attribute("data-state", "connected")
    expect(desktop.by("alert")).to_be_hidden()
    expect(desktop.by("start-conversation")).to_be_enabled()


def test_a_refused_token_is_renewed_for_socketio_and_rest(new_desktop):
    desktop = new_desktop()
    registrations = []

    def bad_first_token(route):
        registrations.append(route.request.post_data_json)
        if len(registrations) == 1:
            route.fulfill(json={"token": "expired.or.forged"})
        else:
            route.continue_()

    refusals = []

    def refuse_first_creation(route):
        if refusals:
            route.continue_()
        else:
            refusals.append(route.request.url)
            route.fulfill(status=401, json={"error": {"code": 401, "message": "token expired"}})

    desktop.page.route("**/register", bad_first_token)
    desktop.page.route(re.compile(r".*/v2beta1/projects/aa-local/locations/global/conversations$"),
                       refuse_first_creation)

    desktop.page.goto(desktop.url)
    # Socket.IO said `unauthenticated`: the page registers again and reconnects.
    wait_until(desktop.page, lambda: len(registrations) == 2, "the page to register again")
    expect(desktop.by("connection-state")).to_have_attribute("data-state", "connected")
    assert registrations == [{"user": "agent"}, {"user": "agent"}]
    desktop.start_conversation()  # the proxy said 401; the page registered again and retried
    assert len(refusals) == 1 and len(registrations) == 3
    expect(desktop.by("connection-state")).to_have_attribute("data-state", "connected")
    desktop.say("customer", CUSTOMER_TURN)
    desktop.expect_line(0, "END_USER", CUSTOMER_TURN)


def test_keyboard_alone_runs_a_conversation(new_desktop, local_stack):
    desktop = new_desktop().open()
    keyboard = desktop.page.keyboard

    def tab_to(test_id: str) -> None:
        for _ in range(30):
            keyboard.press("Tab")
            if desktop.page.evaluate("document.activeElement.dataset.testid") == test_id:
                return
        raise AssertionError(f"Tab never reaches {test_id}")

    tab_to("start-conversation")
    keyboard.press("Enter")
    expect(desktop.by("customer-input")).to_be_focused()
    expect(desktop.by("conversation-name")).to_have_text(CONVERSATION_NAME)
    keyboard.type(CUSTOMER_TURN)
    keyboard.press("Enter")
    expect(desktop.suggestions.first).to_be_visible()
    tab_to("suggestion")  # the first one: the best smart reply
    keyboard.press("Enter")
    expect(desktop.by("agent-input")).to_be_focused()
    expect(desktop.by("agent-input")).to_have_value(REPLY)
    keyboard.press("Enter")

    desktop.expect_line(1, "HUMAN_AGENT", REPLY)
    expect_feedback_sent(desktop, desktop.suggestions.first, local_stack)


def test_the_page_sends_its_security_headers_and_runs_within_its_policy(new_desktop):
    desktop = new_desktop()
    response = desktop.page.goto(desktop.url)
    headers = response.headers
    directives = [directive.split() for directive in headers["content-security-policy"].split("; ")]
    policy = {name: sources for name, *sources in directives}

    assert policy["default-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert policy["script-src"] == ["'self'"] and policy["connect-src"] == ["'self'"]
    assert headers["x-content-type-options"] == "nosniff" and headers["referrer-policy"] == "no-referrer"
    assert headers["x-frame-options"] == "DENY"
    expect(desktop.by("connection-state")).to_have_attribute("data-state", "connected")
    desktop.start_conversation()
    desktop.say("customer", CUSTOMER_TURN)
    expect(desktop.suggestions.first).to_be_visible()
    desktop.assert_quiet_and_no_token_exposed()  # no CSP violation reported either


def test_another_site_cannot_frame_the_page(browser, local_stack, other_site):
    page_url = local_stack.url("ui-connector") + "/"
    other_site.html = f'<!doctype html><title>elsewhere</title><iframe src="{page_url}"></iframe>'
    context = browser.new_context(viewport=VIEWPORT)
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    page = context.new_page()

    page.goto(other_site.url)
    page.wait_for_timeout(1000)

    [framed] = [frame for frame in page.frames if frame != page.main_frame]
    assert framed.locator('[data-testid="sign-in"]').count() == 0
    assert not [url for url in requested if url.endswith(("/static/desktop.js", "/register"))]
    context.close()


def test_another_site_cannot_lock_desktops_out_of_sign_in(new_desktop, local_stack, other_site):
    """A page elsewhere makes the browser send refused registrations no preflight guards:
    more than REGISTER_FAILURES_PER_MINUTE of them from this address."""
    connector = local_stack.url("ui-connector")
    other_site.html = f"""<!doctype html><title>elsewhere</title><script>
      const sent = [];
      for (let i = 0; i < 6; i++) {{
        sent.push(fetch('{connector}/register', {{method: 'POST', mode: 'no-cors', body: '{{"user": "x"}}'}}));
        sent.push(fetch('{connector}/register-app', {{method: 'POST', mode: 'no-cors',
                                                     body: '{{"accountSid": "AC1", "authToken": "t"}}'}}));
      }}
      Promise.allSettled(sent).then(() => {{ document.title = 'sent'; }});
    </script>"""
    elsewhere = new_desktop()
    answered = []
    elsewhere.page.on("response", lambda response: answered.append(response.url))
    elsewhere.page.goto(other_site.url)
    expect(elsewhere.page).to_have_title("sent")
    assert len([url for url in answered if url.startswith(connector)]) == 12  # they all reached the connector

    desktop = new_desktop().open()

    expect(desktop.by("alert")).to_be_hidden()
    expect(desktop.by("start-conversation")).to_be_enabled()


def test_events_of_the_wrong_types_are_shown_safely(new_desktop, local_stack):
    desktop = new_desktop().open()
    name = desktop.start_conversation()
    interceptor = local_stack.url("interceptor")
    wrong = [
        (EventKind.NEW_MESSAGE, {"newMessagePayload": {"name": {"x": 1}, "content": ["not", "text"],
                                                     "participantRole": 7, "createTime": {}}}),
        (EventKind.NEW_MESSAGE, {"newMessagePayload": "not an object"}),
        (EventKind.SUGGESTION, {"suggestionResults": {"suggestSmartRepliesResponse": {}}}),
        (EventKind.SUGGESTION, {"suggestionResults": [
            None, 5, "text",
            {"suggestSmartRepliesResponse": {"smartReplyAnswers": "not a list"}},
            {"suggestFaqAnswersResponse": {"faqAnswers": [None, {"question": 42, "answer": {}}]}},
            {"suggestKnowledgeAssistResponse": {"knowledgeAssistAnswer": {"suggestedQueryAnswer": "not an object"}}},
            {"suggestArticlesResponse": {"latestMessage": [], "articleAnswers": [
                {"title": "Typed wrong", "snippets": "not a list", "uri": 5, "answerRecord": {"x": 1}}]}},
            {"error": "not an object"},
        ]}),
        (EventKind.LIFECYCLE, {"type": 5, "errorStatus": ["not an object"]}),
        (EventKind.RECOGNITION, {"newRecognitionResultPayload": {"transcript": {"x": 1}}}),
    ]
    for route, fields in wrong:
        assert push(interceptor, route, {"conversation": name, **fields}).status_code == 204
    assert push(interceptor, EventKind.NEW_MESSAGE, event_for(name, "new-message.json")).status_code == 204

    expect(desktop.lines).to_have_count(1)  # the well-typed message after them
    desktop.expect_line(0, "END_USER", "I need to change my flight to Friday.")
    [group] = desktop.by("suggestion-group").all()
    expect(group.get_by_test_id("suggestion")).to_have_text([re.compile("^Article.*Typed wrong$")])
    assert group.get_by_test_id("suggestion").get_attribute("data-answer-record") is None
    expect(group.get_by_role("link")).to_have_count(0)
    expect(desktop.by("interim-transcript")).to_be_hidden()
    desktop.say("customer", CUSTOMER_TURN)
    expect(desktop.lines).to_have_count(2)
    desktop.expect_line(1, "END_USER", CUSTOMER_TURN)
    desktop.assert_quiet_and_no_token_exposed()
