// A desktop whose token is refused, with the client's own reconnection left on (its default).
// Usage: SOCKET_IO_CLIENT=<npm package> node refused.mjs URL TOKEN_AS_JSON_STRING
// Watches for 4 s, then prints one JSON line: what the client saw, and whether it threw.
import { createRequire } from "node:module";
import { socketApi } from "./socket_api.mjs";

const require = createRequire(import.meta.url);
const { io } = require(process.env.SOCKET_IO_CLIENT || "socket.io-client");
const url = process.argv[2];
const token = JSON.parse(process.argv[3]);  // JSON, so that any string (a lone surrogate too) gets through
const api = await socketApi(url);
const seen = { connects: 0, unauthenticated: [], disconnects: [], connectErrors: [], reconnectAttempts: 0, errors: [] };

process.on("uncaughtException", (error) => seen.errors.push(String(error && error.message || error)));
const socket = io(url, { auth: { token }, transports: ["websocket"], reconnectionDelay: 200, reconnectionDelayMax: 400 });
socket.on("connect", () => { seen.connects += 1; });
socket.on(api.unauthenticated, (data) => seen.unauthenticated.push(data));
socket.on("disconnect", (reason) => seen.disconnects.push(reason));
socket.on("connect_error", (error) => seen.connectErrors.push(error.message));
socket.io.on("reconnect_attempt", () => { seen.reconnectAttempts += 1; });
socket.io.on("error", (error) => seen.errors.push(String(error && error.message || error)));

setTimeout(() => {
  seen.connected = socket.connected;
  seen.active = socket.active;
  process.stdout.write(JSON.stringify(seen) + "\n");
  socket.close();
  process.exit(0);
}, 4000);
