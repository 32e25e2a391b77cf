// A desktop as Google's Agent Assist UI modules behave: it keeps its token, lets socket.io-client
// reconnect by itself, and joins again on every connect, without a lastEventId (or, with
// RESUME_WITH_LAST_EVENT_ID=1, with the id of the last event it received, as careful desktops do).
// Usage: [SOCKET_IO_CLIENT=<npm package>] [RESUME_WITH_LAST_EVENT_ID=1] node resilient.mjs URL TOKEN CONVERSATION
// Prints one JSON line per thing that happens; runs until its stdin closes.
import { createRequire } from "node:module";
import { socketApi } from "./socket_api.mjs";

const require = createRequire(import.meta.url);
const { io } = require(process.env.SOCKET_IO_CLIENT || "socket.io-client");
const [url, token, conversationName] = process.argv.slice(2);
const print = (line) => process.stdout.write(JSON.stringify(line) + "\n");
const api = await socketApi(url);

const socket = io(url, { auth: { token }, transports: ["websocket"], reconnectionDelay: 100, reconnectionDelayMax: 300 });
let lastEventId = null;
for (const name of api.conversationEvents) {
  socket.on(name, (payload) => {
    lastEventId = payload.event_id;
    print({ event: payload.message_id, eventId: payload.event_id });
  });
}
socket.on(api.unauthenticated, (data) => print({ unauthenticated: data }));
socket.on("disconnect", (reason) => print({ disconnect: reason }));
socket.on("connect", () => {
  print({ connect: true });
  const resume = process.env.RESUME_WITH_LAST_EVENT_ID === "1" && lastEventId;
  const message = resume ? { conversationName, lastEventId } : conversationName;
  socket.emit(api.join, message, (ok, name) => print({ joined: ok, name }));
});
process.stdin.on("end", () => { socket.close(); process.exit(0); });
process.stdin.resume();
