// The Socket.IO side: one connection that follows the current conversation, survives drops and
// token expiry, and hands each event to the page exactly once, in order.

import { record } from './fields.js';

const JOIN_TIMEOUT_MS = 10_000;
const JOIN_RETRY_FIRST_MS = 1_000;
const JOIN_RETRY_MAX_MS = 30_000;
const MIN_RENEWAL_INTERVAL_MS = 5_000;

/**
 * socketApi: what the connector defines of its Socket.IO API (the page gets it from the server):
 * {events: {SUGGESTION, NEW_MESSAGE, LIFECYCLE, RECOGNITION: event name}, unauthenticated, join, leave,
 * retryableRefusals: [refusal code]}.
 * handlers: onState(state) with 'connecting' | 'connected' | 'reconnecting' | 'offline';
 * onJoin(conversationName, ok, detail); onEvent(type, data, payload); onProblem(message).
 */
export class EventStream {
  #api;
  #connector;
  #handlers;
  #socket = null;
  #conversation = null;
  #lastEventId = null;
  #seen = new Set();
  #lastRenewal = 0;
  #renewing = false;

  constructor(socketApi, connector, handlers) {
    this.#api = socketApi;
    this.#connector = connector;
    this.#handlers = handlers;
    connector.onRenewal(() => this.connect());
  }

  /** Connects with the connector's current token, or reconnects when already connected. */
  connect() {
    if (this.#socket) {
      this.#socket.disconnect().connect();
    } else {
      this.#socket = this.#open();
    }
    this.#handlers.onState('connecting');
  }

  disconnect() {
    this.#socket?.disconnect();
  }

  /** Watches `conversationName` from its first event, instead of the current conversation. */
  follow(conversationName) {
    this.#leave();
    // The connector's name for it (the join's answer) is not known yet: events wait in `early` until it is.
    this.#conversation = { name: conversationName, key: null, early: [] };
    this.#lastEventId = null;
    this.#seen.clear();
    if (this.#socket?.connected) {
      this.#join();
    }
  }

  /** Stops watching the current conversation. */
  unfollow() {
    this.#leave();
    this.#conversation = null;
  }

  #open() {
    const socket = io(window.location.origin, {
      auth: (send) => send({ token: this.#connector.token }),
      transports: ['websocket', 'polling'],
    });
    socket.on('connect', () => {
      this.#handlers.onState('connected');
      this.#join();
    });
    socket.on('disconnect', () => this.#handlers.onState(socket.active ? 'reconnecting' : 'offline'));
    socket.on('connect_error', () => this.#handlers.onState(socket.active ? 'reconnecting' : 'offline'));
    socket.on(this.#api.unauthenticated, () => this.#renewToken());
    for (const type of Object.values(this.#api.events)) {
      socket.on(type, (payload) => this.#receive(type, payload));
    }
    return socket;
  }

  // Joins (again) the current conversation, asking only for the events not received yet.
  #join() {
    const conversation = this.#conversation;
    if (!conversation) {
      return;
    }
    const request = { conversationName: conversation.name };
    if (this.#lastEventId) {
      request.lastEventId = this.#lastEventId;
    }
    this.#socket.timeout(JOIN_TIMEOUT_MS).emit(this.#api.join, request, (timeout, ok, detail, code) => {
      if (conversation !== this.#conversation) {
        return; // the page moved on to another conversation meanwhile
      }
      if (!timeout && ok) {
        conversation.key = detail;
        conversation.joinAttempts = 0;
        this.#handlers.onJoin(conversation.name, true, detail, false);
        conversation.early.splice(0).forEach(([type, payload]) => this.#receive(type, payload));
        return;
      }
      // No answer, or a refusal the connector marks retryable (Redis briefly unavailable): try
      // again. Anything else (a malformed name, another project) will not get better by retrying.
      const reason = timeout ? 'the UI connector did not answer' : String(detail);
      const retrying = timeout || this.#api.retryableRefusals.includes(code);
      if (retrying) {
        this.#retryJoin(conversation);
      }
      this.#handlers.onJoin(conversation.name, false, retrying ? `${reason}; retrying` : reason, retrying);
    });
  }

  #retryJoin(conversation) {
    conversation.joinAttempts = (conversation.joinAttempts ?? 0) + 1;
    const wait = Math.min(JOIN_RETRY_FIRST_MS * 2 ** (conversation.joinAttempts - 1), JOIN_RETRY_MAX_MS);
    setTimeout(() => {
      // A reconnect joins by itself; only retry on a live connection to the same conversation.
      if (conversation === this.#conversation && this.#socket?.connected) {
        this.#join();
      }
    }, wait);
  }

  #leave() {
    if (this.#conversation && this.#socket?.connected) {
      this.#socket.emit(this.#api.leave, { conversationName: this.#conversation.name });
    }
  }

  // A conversation's events come in order, each once; the seen set only guards against a connector
  // that broke that promise.
  #receive(type, payload) {
    const conversation = this.#conversation;
    if (conversation?.key === null) {
      conversation.early.push([type, payload]);
      return;
    }
    if (!conversation || payload?.conversation_name !== conversation.key || this.#seen.has(payload.event_id)) {
      return;
    }
    this.#seen.add(payload.event_id);
    this.#lastEventId = payload.event_id;
    let data;
    try {
      data = JSON.parse(payload.data);
    } catch {
      return; // not a Dialogflow notification: nothing to show
    }
    if (record(data)) {
      this.#handlers.onEvent(type, data, payload);
    }
  }

  // The connector refused or expired our token: register again (the renewal reconnects),
  // at most once per MIN_RENEWAL_INTERVAL_MS so a persistent refusal cannot spin.
  async #renewToken() {
    if (this.#renewing) {
      return;
    }
    this.#renewing = true;
    this.#handlers.onState('reconnecting');
    try {
      await delay(this.#lastRenewal + MIN_RENEWAL_INTERVAL_MS - Date.now());
      this.#lastRenewal = Date.now();
      await this.#connector.renew();
    } catch (error) {
      this.#handlers.onState('offline');
      this.#handlers.onProblem(`Signed out: ${error.message}. Use “Sign in” to try again.`);
    } finally {
      this.#renewing = false;
    }
  }
}

function delay(milliseconds) {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, milliseconds)));
}
