// The agent desktop page: one person plays customer and agent, and watches the transcript and
// the Agent Assist suggestions arrive. Both are built only from Socket.IO events, never from
// HTTP responses, so what shows on screen went through Pub/Sub, the interceptor and Redis.

import { Connector } from './api.js';
import { h, timeElement } from './dom.js';
import { EventStream } from './events.js';
import { at, record, text } from './fields.js';
import { readSuggestionResults, setFeedbackState, suggestionCard } from './suggestions.js';

const SPEAKERS = { END_USER: 'Customer', HUMAN_AGENT: 'Agent', AUTOMATED_AGENT: 'Virtual agent' };
const LIFECYCLE_LABELS = {
  CONVERSATION_STARTED: 'Conversation started',
  CONVERSATION_FINISHED: 'Conversation finished',
  HUMAN_INTERVENTION_NEEDED: 'A human agent is needed',
  UNRECOVERABLE_ERROR: 'Dialogflow hit an unrecoverable error',
};
const CONNECTION_LABELS = {
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
};
const LANGUAGE_CODE = 'en-US';
const SAVED_CONVERSATION_KEY = 'agent-desktop.conversation';

const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);
const ui = {
  signIn: byTestId('sign-in'),
  agentName: byTestId('agent-name'),
  connection: byTestId('connection-state'),
  alert: byTestId('alert'),
  start: byTestId('start-conversation'),
  complete: byTestId('complete-conversation'),
  conversationName: byTestId('conversation-name'),
  status: byTestId('status'),
  interim: byTestId('interim-transcript'),
  joinForm: byTestId('join-form'),
  joinInput: byTestId('join-input'),
  transcript: byTestId('transcript'),
  transcriptEmpty: byTestId('transcript-empty'),
  composerHint: byTestId('composer-hint'),
  composers: [...document.querySelectorAll('form.composer')],
  customerInput: byTestId('customer-input'),
  agentInput: byTestId('agent-input'),
  suggestions: byTestId('suggestions'),
  suggestionsEmpty: byTestId('suggestions-empty'),
};
const { projectId, conversationProfile } = document.body.dataset;
const socketApi = JSON.parse(document.body.dataset.socketApi); // what the connector defines, from the server

const connector = new Connector();
const stream = new EventStream(socketApi, connector, {
  onState: showConnection,
  onJoin: joined,
  onEvent: showEvent,
  onProblem: (message) => showAlert(message, 'connection'),
});
const EVENT_VIEWS = {
  [socketApi.events.NEW_MESSAGE]: showMessage,
  [socketApi.events.SUGGESTION]: showSuggestions,
  [socketApi.events.LIFECYCLE]: showLifecycle,
  [socketApi.events.RECOGNITION]: showInterimTranscript,
};

// The conversation on screen: {name, participants: {END_USER, HUMAN_AGENT} or null when
// watching as a supervisor, finished, completing}.
let conversation = null;
const messageTexts = new Map(); // message name → content, to title suggestion groups
// Suggestions can arrive before the message they answer (Pub/Sub topics are not ordered with
// each other): message name → the group titles waiting for its content.
const untitledGroups = new Map();
const sending = new Set(); // roles whose turn is on its way

// Signing in

async function signIn() {
  showStatus('Signing in…');
  showConnection('connecting');
  try {
    await connector.signIn(ui.agentName.value.trim() || 'agent');
  } catch (error) {
    stream.disconnect();
    showConnection('offline');
    showStatus('Signed out.');
    showAlert(`Could not sign in: ${error.message}.`, 'connection');
    updateControls();
    return;
  }
  hideAlert('connection');
  stream.connect();
  if (conversation) {
    showStatus('Signed in.');
  } else {
    resumeSavedConversation();
  }
  updateControls();
}

function showConnection(state) {
  ui.connection.dataset.state = state;
  ui.connection.querySelector('.connection-label').textContent = CONNECTION_LABELS[state];
}

// Conversations

async function startConversation() {
  ui.start.disabled = true;
  showStatus('Starting a conversation…');
  try {
    const created = await connector.dialogflow('POST', `projects/${projectId}/locations/global/conversations`,
      { conversationProfile });
    const participants = {};
    for (const role of ['END_USER', 'HUMAN_AGENT']) {
      participants[role] = (await connector.dialogflow('POST', `${created.name}/participants`, { role })).name;
    }
    openConversation(created.name, participants);
    ui.customerInput.focus();
  } catch (error) {
    showStatus(conversation ? 'Could not start another conversation.' : 'No conversation.');
    showAlert(`Could not start a conversation: ${error.message}.`);
  } finally {
    updateControls();
  }
}

function watchConversation(name) {
  openConversation(name, null);
  ui.joinInput.value = '';
}

function openConversation(name, participants) {
  conversation = { name, participants, finished: false, completing: false };
  saveConversation();
  messageTexts.clear();
  untitledGroups.clear();
  ui.transcript.replaceChildren();
  ui.suggestions.replaceChildren();
  ui.interim.hidden = true;
  ui.conversationName.textContent = name;
  hideAlert('connection');
  showStatus('Joining the conversation…');
  stream.follow(name);
  updateEmptyStates();
  updateControls();
}

function closeConversation() {
  conversation = null;
  saveConversation();
  stream.unfollow();
  ui.conversationName.textContent = 'None yet';
  showStatus('No conversation.');
  updateControls();
}

function joined(name, ok, detail, retrying) {
  if (ok) {
    hideAlert('connection');
    if (ui.status.dataset.lifecycle === undefined) {
      showStatus('Joined; waiting for events…');
    }
    return;
  }
  showAlert(`Could not join ${name}: ${detail}.`, 'connection');
  if (!conversation.participants && !retrying) {
    closeConversation(); // a pasted name the connector refused: nothing to watch
  }
}

// The CONVERSATION_FINISHED event, not the response, then tells the page it is over (it may
// arrive before the response does).
async function completeConversation() {
  const completing = conversation;
  completing.completing = true;
  showStatus('Completing the conversation…');
  updateControls();
  try {
    await connector.dialogflow('POST', `${completing.name}:complete`, {});
  } catch (error) {
    completing.completing = false;
    showStatus('The conversation is still open.');
    showAlert(`Could not complete the conversation: ${error.message}.`);
    updateControls();
  }
}

// A reload resumes the conversation of this tab: the replay rebuilds transcript and suggestions.
function saveConversation() {
  try {
    if (conversation) {
      const { name, participants } = conversation;
      sessionStorage.setItem(SAVED_CONVERSATION_KEY, JSON.stringify({ name, participants }));
    } else {
      sessionStorage.removeItem(SAVED_CONVERSATION_KEY);
    }
  } catch {
    // Storage disabled: a reload starts afresh, as without this feature.
  }
}

function resumeSavedConversation() {
  let saved = null;
  try {
    saved = JSON.parse(sessionStorage.getItem(SAVED_CONVERSATION_KEY));
  } catch {
    // Storage disabled or the entry unreadable: nothing to resume.
  }
  if (typeof saved?.name === 'string') {
    openConversation(saved.name, saved.participants ?? null);
  } else {
    showStatus('Signed in. Start a conversation, or watch an existing one.');
  }
}

// Turns

async function sendTurn(form) {
  const role = form.dataset.role;
  const input = form.elements.text;
  const text = input.value.trim();
  if (!text || sending.has(role) || !canSend()) {
    return;
  }
  sending.add(role);
  updateControls();
  try {
    await connector.dialogflow('POST', `${conversation.participants[role]}:analyzeContent`,
      { textInput: { text, languageCode: LANGUAGE_CODE } });
    input.value = '';
  } catch (error) {
    showAlert(`The ${labelFor(SPEAKERS, role, 'participant').toLowerCase()}'s message was not sent: ${error.message}.`);
  } finally {
    sending.delete(role);
    updateControls();
  }
}

async function chooseSuggestion(suggestion, button) {
  if (suggestion.reply && canSend()) {
    ui.agentInput.value = suggestion.reply;
    ui.agentInput.focus();
  }
  if (button.dataset.feedback || !suggestion.answerRecord) {
    return; // feedback already sent (or on its way)
  }
  setFeedbackState(button, 'sending');
  try {
    await connector.dialogflow('PATCH', `${suggestion.answerRecord}?updateMask=answerFeedback`,
      { answerFeedback: { clicked: true, correctnessLevel: 'FULLY_CORRECT' } });
    setFeedbackState(button, 'sent');
  } catch (error) {
    setFeedbackState(button, null);
    showAlert(`Could not send feedback on the suggestion: ${error.message}.`);
  }
}

// Events

function showEvent(type, data, payload) {
  EVENT_VIEWS[type](data, payload);
}

function showMessage(data) {
  const message = record(data.newMessagePayload);
  const content = text(message?.content);
  if (content === undefined) {
    return; // nothing to show
  }
  const name = text(message.name);
  if (name) {
    messageTexts.set(name, content);
    for (const title of untitledGroups.get(name) ?? []) {
      title.textContent = groupTitle(content);
    }
    untitledGroups.delete(name);
  }
  const role = text(message.participantRole);
  ui.transcript.append(h('li', {
    className: `turn turn-${(role ?? 'unknown').toLowerCase().replace('_', '-')}`,
    'data-role': role ?? '',
    'data-testid': 'transcript-line',
  },
  h('p', { className: 'turn-meta' },
    h('span', { className: 'turn-speaker' }, labelFor(SPEAKERS, role, role ?? 'Participant')), ' ',
    timeElement(text(message.createTime))),
  h('p', { className: 'turn-text' }, content)));
  ui.interim.hidden = true;
  scrollToEnd(ui.transcript.parentElement);
  updateEmptyStates();
}

function showSuggestions(data, payload) {
  const { suggestions, problems, latestMessage } = readSuggestionResults(data.suggestionResults);
  if (!suggestions.length && !problems.length) {
    return;
  }
  const title = h('span', {}, groupTitle(messageTexts.get(latestMessage)));
  if (latestMessage && !messageTexts.has(latestMessage)) {
    untitledGroups.set(latestMessage, [...(untitledGroups.get(latestMessage) ?? []), title]);
  }
  ui.suggestions.prepend(h('section', { className: 'suggestion-group', 'data-testid': 'suggestion-group' },
    h('h3', { className: 'suggestion-group-title' }, title, timeElement(payload.publish_time)),
    suggestions.length > 0 && h('ul', { className: 'suggestion-list' },
      ...suggestions.map((suggestion) => suggestionCard(suggestion, chooseSuggestion))),
    ...problems.map((problem) => h('p', { className: 'suggestion-problem', 'data-testid': 'suggestion-problem' },
      `Some suggestions are unavailable right now (${problem}).`))));
  ui.suggestions.parentElement.scrollTop = 0;
  updateEmptyStates();
}

function groupTitle(messageText) {
  return messageText === undefined ? 'Suggestions' : `For “${messageText}”`;
}

function showLifecycle(data) {
  const type = text(data.type) ?? 'CONVERSATION_EVENT';
  const label = labelFor(LIFECYCLE_LABELS, type, null) ?? sentenceCase(type);
  const detail = text(at(data, 'errorStatus', 'message'));
  showStatus(detail ? `${label}: ${detail}` : `${label}.`);
  ui.status.dataset.lifecycle = type;
  if (type === 'CONVERSATION_FINISHED') {
    conversation.finished = true;
    updateControls();
  }
}

function showInterimTranscript(data, payload) {
  const transcript = text(at(data, 'newRecognitionResultPayload', 'transcript'));
  if (!transcript) {
    return;
  }
  const speaker = labelFor(SPEAKERS, payload.participant_role, 'A participant');
  ui.interim.textContent = `${speaker} is speaking: “${transcript}”`;
  ui.interim.hidden = false;
}

// Page state

function canSend() {
  return connector.token !== null && Boolean(conversation?.participants) && !conversation.finished;
}

function updateControls() {
  const signedIn = connector.token !== null;
  const sendable = canSend();
  for (const form of ui.composers) {
    form.elements.text.disabled = !sendable;
    form.querySelector('button').disabled = !sendable || sending.has(form.dataset.role);
  }
  ui.composerHint.textContent = composerHint();
  ui.composerHint.hidden = sendable;
  ui.start.disabled = !signedIn;
  ui.joinForm.querySelector('button').disabled = !signedIn;
  ui.complete.disabled = !signedIn || !conversation || conversation.finished || conversation.completing;
}

function composerHint() {
  if (!conversation) {
    return 'Start a conversation to write as the customer and as the agent.';
  }
  if (!conversation.participants) {
    return 'You are watching this conversation as a supervisor: sending is off.';
  }
  return conversation.finished ? 'This conversation is finished.' : 'Sign in to send messages.';
}

function updateEmptyStates() {
  ui.transcriptEmpty.hidden = ui.transcript.childElementCount > 0;
  ui.suggestionsEmpty.hidden = ui.suggestions.childElementCount > 0;
}

function showStatus(text) {
  ui.status.textContent = text;
  delete ui.status.dataset.lifecycle;
}

// topic: 'connection' for sign-in and join problems, which go away once solved; other alerts
// (a message not sent, say) stay until dismissed or replaced.
function showAlert(message, topic = 'action') {
  ui.alert.querySelector('.alert-text').textContent = message;
  ui.alert.dataset.topic = topic;
  ui.alert.hidden = false;
}

function hideAlert(topic) {
  if (topic === undefined || ui.alert.dataset.topic === topic) {
    ui.alert.hidden = true;
  }
}

function scrollToEnd(container) {
  container.scrollTop = container.scrollHeight;
}

// A label from a fixed table, looked up on the table's own keys only: event fields are
// customer-controlled data, and "constructor" must not find Object's.
function labelFor(table, key, fallback) {
  return typeof key === 'string' && Object.hasOwn(table, key) ? table[key] : fallback;
}

function sentenceCase(constant) {
  const words = constant.toLowerCase().replaceAll('_', ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

// Wiring

function onSubmit(form, action) {
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    action(form);
  });
}

onSubmit(ui.signIn, signIn);
onSubmit(ui.joinForm, () => watchConversation(ui.joinInput.value.trim()));
ui.composers.forEach((form) => onSubmit(form, sendTurn));
ui.start.addEventListener('click', startConversation);
ui.complete.addEventListener('click', completeConversation);
byTestId('alert-dismiss').addEventListener('click', () => hideAlert());
signIn();
