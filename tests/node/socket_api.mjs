// The UI connector's Socket.IO names, read from the AsyncAPI document it serves (GET /asyncapi.json),
// so that no test desktop keeps a copy of them.
const CONVERSATION_EVENT_TAG = "conversation-event";

export async function socketApi(url) {
  const response = await fetch(new URL("/asyncapi.json", url));
  if (!response.ok) throw new Error(`GET /asyncapi.json answered HTTP ${response.status}`);
  const document = await response.json();
  // An operation names its message through the channel, which refers to the component.
  const messageOf = (operationId) => {
    const inChannel = resolve(document, document.operations[operationId].messages[0].$ref);
    return resolve(document, inChannel.$ref);
  };
  return {
    conversationEvents: Object.values(document.components.messages)
      .filter((message) => message.tags?.some((tag) => tag.name === CONVERSATION_EVENT_TAG))
      .map((message) => message.name),
    unauthenticated: messageOf("sendUnauthenticated").name,
    join: messageOf("receiveJoinConversation").name,
  };
}

function resolve(document, pointer) {
  return pointer.replace(/^#\//, "").split("/").reduce((node, part) => node[part], document);
}
