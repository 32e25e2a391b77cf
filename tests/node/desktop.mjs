// A desktop as agent desktops are written: the official socket.io-client from npm.
// Usage: [SOCKET_IO_CLIENT=<npm package>] node desktop.mjs URL TOKEN CONVERSATION COUNT [LAST_EVENT_ID]
// Prints one JSON line per step ({"joined": ...}, {"event": ...}) and exits 0 once COUNT events arrived.
import { createRequire } from "node:module";
import { socketApi } from "./socket_api.mjs";

const require = createRequire(import.meta.url);
const { io } = require(process.env.SOCKET_IO_CLIENT || "socket.io-client");
const [url, token, conversationName, count, lastEventId] = process.argv.slice(2);
const print = (line) => process.stdout.write(JSON.stringify(line) + "\n");
const api = await socketApi(url);

const socket = io(url, { auth: { token }, transports: ["websocket"], reconnection: false });
let received = 0;
const timer = setTimeout(() => { print({ error: `timed out after ${received} events` }); process.exit(2); }, 20000);

for (const name of api.conversationEvents) {
  socket.on(name, (payload) => {
    print({ event: name, payload });
    if (++received >= Number(count)) {
      clearTimeout(timer);
      socket.close();
      process.exit(0);
    }
  });
}
socket.on(api.unauthenticated, (data) => { print({ unauthenticated: data }); process.exit(3); });
socket.on("connect_error", (error) => { print({ error: error.message }); process.exit(4); });
socket.on("connect", () => {
  const message = lastEventId ? { conversationName, lastEventId } : conversationName;
  socket.emit(api.join, message, (ok, name) => print({ joined: ok, name }));
});
