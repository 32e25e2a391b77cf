// The Socket.IO side: one connection that follows the current conversation, survives drops and
// token expiry, and hands each event to the page exactly once, in order.

import { record } from './fields.js';

const EVENT_TYPES = [
  'new-message-event',
  'human-agent-assistant-event',
  'conversation-lifecycle-event',
  'new-recognition-result-notification-event',
];
const JOIN_TIMEOUT_MS = 10_000;
const JOIN_RETRY_FIRST_MS = 1_000;
const JOIN_RETRY_MAX_MS = 30_000;
const MIN_RENEWAL_INTERVAL_MS = 5_000;

/** `projects/P/conversations/C`: how the connector names a conversation, whatever form a desktop used. */
function conversationKey(name) {
  return name.replace(/^(projects\/[^/]+)\/locations\/[^/]+\//, '$1/');
}

/** Orders Redis stream ids (`<milliseconds>-<sequence>`). */
function compareEventIds(a, b) {
  const [aTime, aSequence] = a.split('-').map(Number);
  const [bTime, bSequence] = b.split('-').map(Number);
  return aTime - bTime || aSequence - bSequence;
}

/**
 * handlers: onState(state) with 'connecting' | 'connected' | 'reconnecting' | 'offline';
 * onJoin(conversationName, ok, detail); onEvent(type, data, payload); onProblem(message).
 */
export class EventStream {
  #connector;
  #handlers;
  #socket = null;
  #conversation = null;
  #lastEventId = null;
  #seen = new Set();
  #lastRenewal = 0;
  #renewing = false;

  constructor(connector, handlers) {
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
    this.#conversation = { name: conversationName, key: conversationKey(conversationName) };
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
    socket.on('unauthenticated', () => this.#renewToken());
    for (const type of EVENT_TYPES) {
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
    this.#socket.timeout(JOIN_TIMEOUT_MS).emit('join-conversation', request, (timeout, ok, detail) => {
      if (conversation !== this.#conversation) {
        return; // the page moved on to another conversation meanwhile
      }
      if (!timeout && ok) {
        conversation.key = detail;
        conversation.joinAttempts = 0;
        this.#handlers.onJoin(conversation.name, true, detail, false);
        return;
      }
      // No answer, or Redis briefly unavailable: try again. Anything else (a malformed name,
      // another project) will not get better by retrying.
      const reason = timeout ? 'the UI connector did not answer' : String(detail);
      const retrying = timeout || reason.includes('temporarily unavailable');
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
      this.#socket.emit('leave-conversation', { conversationName: this.#conversation.name });
    }
  }

  #receive(type, payload) {
    const conversation = this.#conversation;
    if (!conversation || payload?.conversation_name !== conversation.key || this.#seen.has(payload.event_id)) {
      return;
    }
    this.#seen.add(payload.event_id);
    if (!this.#lastEventId || compareEventIds(payload.event_id, this.#lastEventId) > 0) {
      this.#lastEventId = payload.event_id;
    }
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
