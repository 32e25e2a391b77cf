// Agent Assist suggestion results (a HumanAgentAssistantEvent's suggestionResults) as plain
// records, and their cards.

import { h } from './dom.js';
import { at, record, records, text, texts } from './fields.js';

// One reader per SuggestionResult field: each turns a response into suggestion records.
// Their order is the display order: what the agent can use right away comes first.
const READERS = {
  suggestSmartRepliesResponse: (response) =>
    records(response.smartReplyAnswers).map((answer) => ({
      kind: 'smart-reply',
      label: 'Smart reply',
      text: text(answer.reply),
      reply: text(answer.reply),
      answerRecord: text(answer.answerRecord),
    })),
  generateSuggestionsResponse: (response) =>
    records(response.generatorSuggestionAnswers).map((answer) => ({
      kind: 'generator',
      label: 'Generator',
      text: text(at(answer, 'generatorSuggestion', 'freeFormSuggestion', 'response')),
      answerRecord: text(answer.answerRecord),
    })),
  suggestKnowledgeAssistResponse: (response) => {
    const answer = record(response.knowledgeAssistAnswer);
    const queryAnswer = record(answer?.suggestedQueryAnswer);
    if (!queryAnswer) {
      return [];
    }
    const source = at(queryAnswer, 'generativeSource', 'snippets', 0);
    return [{
      kind: 'knowledge-assist',
      label: 'Knowledge assist',
      text: text(at(answer, 'suggestedQuery', 'queryText')) || 'Suggested answer',
      detail: text(queryAnswer.answerText),
      link: webLink(at(source, 'uri'), at(source, 'title')),
      answerRecord: text(answer.answerRecord),
    }];
  },
  suggestFaqAnswersResponse: (response) =>
    records(response.faqAnswers).map((answer) => ({
      kind: 'faq',
      label: 'FAQ',
      text: text(answer.question),
      detail: text(answer.answer),
      answerRecord: text(answer.answerRecord),
    })),
  suggestArticlesResponse: (response) =>
    records(response.articleAnswers).map((answer) => ({
      kind: 'article',
      label: 'Article',
      text: text(answer.title),
      detail: texts(answer.snippets).join(' '),
      link: webLink(answer.uri, answer.title),
      answerRecord: text(answer.answerRecord),
    })),
};

/** {uri, title} for an http(s) address; null for anything else (a javascript: URI, a number, say). */
function webLink(uri, title) {
  if (!text(uri)) {
    return null;
  }
  try {
    const url = new URL(uri);
    return ['http:', 'https:'].includes(url.protocol) ? { uri: url.href, title: text(title) || url.href } : null;
  } catch {
    return null;
  }
}

/** {suggestions, problems, latestMessage} from a HumanAgentAssistantEvent's suggestionResults. */
export function readSuggestionResults(results) {
  const batch = { suggestions: [], problems: [], latestMessage: null };
  const list = records(results);
  for (const [field, read] of Object.entries(READERS)) {
    for (const response of list.map((result) => record(result[field])).filter(Boolean)) {
      batch.latestMessage ??= text(response.latestMessage) ?? null;
      batch.suggestions.push(...read(response).filter((suggestion) => suggestion.text));
    }
  }
  for (const error of list.map((result) => record(result.error)).filter(Boolean)) {
    batch.problems.push(text(error.message) || `error code ${Number.isInteger(error.code) ? error.code : 'unknown'}`);
  }
  return batch;
}

/** A list item with the suggestion's button and, for documents, a link to the source. */
export function suggestionCard(suggestion, onChoose) {
  const used = h('span', { className: 'suggestion-used', hidden: true });
  const button = h('button', {
    type: 'button',
    className: 'suggestion',
    'data-testid': 'suggestion',
    'data-kind': suggestion.kind,
  },
  h('span', { className: 'suggestion-head' }, h('span', { className: 'suggestion-kind' }, suggestion.label), used),
  h('span', { className: 'suggestion-text' }, suggestion.text),
  suggestion.detail && h('span', { className: 'suggestion-detail' }, suggestion.detail));
  if (suggestion.answerRecord) {
    button.dataset.answerRecord = suggestion.answerRecord;
  }
  button.addEventListener('click', () => onChoose(suggestion, button));
  const link = suggestion.link && h('a', {
    className: 'suggestion-link',
    href: suggestion.link.uri,
    target: '_blank',
    rel: 'noopener noreferrer',
  }, `Open “${suggestion.link.title}”`);
  return h('li', { className: `suggestion-card kind-${suggestion.kind}` }, button, link);
}

const FEEDBACK_LABELS = { sending: 'Sending…', sent: 'Used' };

/** Shows whether the feedback on a suggestion is on its way ('sending'), arrived ('sent'), or neither (null). */
export function setFeedbackState(button, state) {
  const badge = button.querySelector('.suggestion-used');
  if (state) {
    button.dataset.feedback = state;
    badge.textContent = FEEDBACK_LABELS[state];
  } else {
    delete button.dataset.feedback;
  }
  badge.hidden = !state;
}
