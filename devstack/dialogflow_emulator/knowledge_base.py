"""A small airline knowledge base, matched by keywords against what the customer wrote."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

KB_URL = "https://kb.example.com"


@dataclass(frozen=True)
class Topic:
    key: str
    keywords: tuple[str, ...]
    title: str
    snippet: str
    question: str
    answer: str
    smart_replies: tuple[str, ...]
    search_query: str
    agent_action: str
    summary_phrase: str
    _pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        words = "|".join(re.escape(keyword) for keyword in self.keywords) or "(?!)"  # (?!) never matches
        object.__setattr__(self, "_pattern", re.compile(rf"\b(?:{words})\b", re.IGNORECASE))

    @property
    def uri(self) -> str:
        return f"{KB_URL}/{self.key}"

    def hits(self, text: str) -> int:
        """How many distinct keywords of this topic ``text`` mentions."""
        return len({match.lower() for match in self._pattern.findall(text)})


@dataclass(frozen=True)
class Match:
    topic: Topic
    confidence: float


TOPICS = (
    Topic(
        key="change-flight",
        keywords=(
            "change",
            "rebook",
            "reschedule",
            "move my flight",
            "different flight",
            "earlier flight",
            "later flight",
            "date",
        ),
        title="Change a booking",
        snippet="You can change flights up to 24 hours before departure in Manage Booking.",
        question="How do I change my flight?",
        answer="Use Manage Booking on the website or app up to 24 hours before departure; "
        "a fare difference may apply.",
        smart_replies=("Sure, which day works for you?", "I can help with that. What is your booking reference?"),
        search_query="change flight date",
        agent_action="Offer to rebook the customer on another flight; explain any fare difference.",
        summary_phrase="changing a flight",
    ),
    Topic(
        key="baggage",
        keywords=("baggage", "bag", "bags", "luggage", "suitcase", "carry-on", "lost"),
        title="Baggage allowance and delayed bags",
        snippet="Each passenger may check one 23 kg bag; delayed bags are delivered within 48 hours.",
        question="How much baggage can I bring?",
        answer="Economy fares include one 23 kg checked bag and one 8 kg carry-on; "
        "report delayed bags at the airport desk.",
        smart_replies=(
            "I'm sorry about your bag. Do you have your baggage tag number?",
            "Your fare includes one 23 kg checked bag.",
        ),
        search_query="baggage allowance delayed bag",
        agent_action="Ask for the baggage tag number and open a delayed-baggage report if needed.",
        summary_phrase="baggage",
    ),
    Topic(
        key="refund",
        keywords=("refund", "money back", "reimburse", "reimbursement", "compensation", "voucher"),
        title="Refunds and compensation",
        snippet="Refundable fares are paid back to the original payment method within 7 working days.",
        question="How do I get a refund?",
        answer="Refundable tickets are refunded to the original payment method within 7 working days; "
        "other fares get a travel voucher.",
        smart_replies=("Let me check whether your fare is refundable.", "Refunds take up to 7 working days."),
        search_query="ticket refund policy",
        agent_action="Check the fare rules and start the refund or issue a travel voucher.",
        summary_phrase="a refund",
    ),
    Topic(
        key="seat",
        keywords=("seat", "seats", "aisle", "window", "upgrade", "legroom", "sit together"),
        title="Choosing and upgrading seats",
        snippet="Seats can be chosen for free at check-in or for a fee after booking.",
        question="Can I choose my seat?",
        answer="Seat selection is free at online check-in, 24 hours before departure; "
        "earlier selection and extra legroom seats cost extra.",
        smart_replies=("Would you prefer a window or an aisle seat?", "I can look at seat upgrades for you."),
        search_query="seat selection upgrade",
        agent_action="Offer available seats and mention the extra legroom upgrade.",
        summary_phrase="seat selection",
    ),
    Topic(
        key="cancel",
        keywords=("cancel", "cancelled", "canceled", "cancellation", "call off"),
        title="Cancelling a booking",
        snippet="Bookings can be cancelled online; cancellation fees depend on the fare.",
        question="How do I cancel my booking?",
        answer="Cancel in Manage Booking; free within 24 hours of booking, "
        "afterwards the fare's cancellation fee applies.",
        smart_replies=(
            "I can cancel that for you. Can you confirm your booking reference?",
            "Would you like a refund or a travel voucher?",
        ),
        search_query="cancel booking fee",
        agent_action="Confirm the booking and explain the cancellation fee before cancelling.",
        summary_phrase="cancelling a booking",
    ),
)

FALLBACK = Topic(
    key="help-centre",
    keywords=(),
    title="Help centre",
    snippet="Our help centre answers the most common questions about bookings and travel.",
    question="How can I contact customer service?",
    answer="Chat with us or call customer service 24/7; most questions are answered in the help centre.",
    smart_replies=("Thanks for reaching out. How can I help you today?",),
    search_query="customer service help",
    agent_action="Ask the customer what they need help with.",
    summary_phrase="a general question",
)


def match(text: str) -> list[Match]:
    """The topics ``text`` is about, best first; the help-centre fallback when none matches."""
    scored = [(topic.hits(text), index, topic) for index, topic in enumerate(TOPICS)]
    hits = sorted((entry for entry in scored if entry[0]), key=lambda entry: (-entry[0], entry[1]))
    if not hits:
        return [Match(FALLBACK, 0.3)]
    return [Match(topic, round(min(0.95, 0.55 + 0.15 * count), 2)) for count, _, topic in hits]
