// Many agent desktops in one Node process, each its own socket.io-client connection over WebSocket.
// Usage: node desktops.mjs URL TOKEN COUNT CONVERSATION [CONVERSATION...]
// Desktop i joins CONVERSATION[i % n]. Prints {"ready": COUNT} once all joined; then, for each line read
// on stdin, {"events": <received so far>, "connected": <open sockets>}; exits when stdin closes.
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import { socketApi } from "./socket_api.mjs";

const require = createRequire(import.meta.url);
const { io } = require("socket.io-client");
const [url, token, countText, ...conversations] = process.argv.slice(2);
const count = Number(countText);
const print = (line) => process.stdout.write(JSON.stringify(line) + "\n");
const api = await socketApi(url);
const sockets = [];
let events = 0;
let joined = 0;

for (let index = 0; index < count; index++) {
  const socket = io(url, { auth: { token }, transports: ["websocket"], forceNew: true, reconnection: false });
  for (const name of api.conversationEvents) socket.on(name, () => { events += 1; });
  socket.on("connect", () => {
    socket.emit(api.join, conversations[index % conversations.length], (ok, reason, code) => {
      if (!ok) { print({ error: `join refused: ${reason} (${code})` }); process.exit(2); }
      if (++joined === count) print({ ready: count });
    });
  });
  socket.on("connect_error", (error) => { print({ error: error.message }); process.exit(3); });
  sockets.push(socket);
}
createInterface({ input: process.stdin })
  .on("line", () => print({ events, connected: sockets.filter((s) => s.connected).length }))
  .on("close", () => { for (const socket of sockets) socket.close(); process.exit(0); });
