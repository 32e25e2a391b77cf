// Agent Assist suggestion results (a HumanAgentAssistantEvent's suggestionResults) as plain
// records, and their cards.

import { h } from './dom.js';

// One reader per SuggestionResult field: each turns a response into suggestion records.
// Their order is the display order: what the agent can use right away comes first.
const READERS = {
  suggestSmartRepliesResponse: (response) =>
    (response.smartReplyAnswers ?? []).map((answer) => ({
      kind: 'smart-reply',
      label: 'Smart reply',
      text: answer.reply,
      reply: answer.reply,
      answerRecord: answer.answerRecord,
    })),
  generateSuggestionsResponse: (response) =>
    (response.generatorSuggestionAnswers ?? []).map((answer) => ({
      kind: 'generator',
      label: 'Generator',
      text: answer.generatorSuggestion?.freeFormSuggestion?.response,
      answerRecord: answer.answerRecord,
    })),
  suggestKnowledgeAssistResponse: (response) => {
    const answer = response.knowledgeAssistAnswer;
    if (!answer?.suggestedQueryAnswer) {
      return [];
    }
    const source = answer.suggestedQueryAnswer.generativeSource?.snippets?.[0];
    return [{
      kind: 'knowledge-assist',
      label: 'Knowledge assist',
      text: answer.suggestedQuery?.queryText || 'Suggested answer',
      detail: answer.suggestedQueryAnswer.answerText,
      link: webLink(source?.uri, source?.title),
      answerRecord: answer.answerRecord,
    }];
  },
  suggestFaqAnswersResponse: (response) =>
    (response.faqAnswers ?? []).map((answer) => ({
      kind: 'faq',
      label: 'FAQ',
      text: answer.question,
      detail: answer.answer,
      answerRecord: answer.answerRecord,
    })),
  suggestArticlesResponse: (response) =>
    (response.articleAnswers ?? []).map((answer) => ({
      kind: 'article',
      label: 'Article',
      text: answer.title,
      detail: (answer.snippets ?? []).join(' '),
      link: webLink(answer.uri, answer.title),
      answerRecord: answer.answerRecord,
    })),
};

/** {uri, title} for an http(s) address; null for anything else (a javascript: URI, say). */
function webLink(uri, title) {
  try {
    const url = new URL(uri);
    return ['http:', 'https:'].includes(url.protocol) ? { uri: url.href, title: title || url.href } : null;
  } catch {
    return null;
  }
}

/** {suggestions, problems, latestMessage} from a HumanAgentAssistantEvent's suggestionResults. */
export function readSuggestionResults(results) {
  const batch = { suggestions: [], problems: [], latestMessage: null };
  const list = results ?? [];
  for (const [field, read] of Object.entries(READERS)) {
    for (const response of list.map((result) => result[field]).filter(Boolean)) {
      batch.latestMessage ??= response.latestMessage ?? null;
      batch.suggestions.push(...read(response).filter((suggestion) => suggestion.text));
    }
  }
  for (const { error } of list.filter((result) => result.error)) {
    batch.problems.push(error.message || `error code ${error.code}`);
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
