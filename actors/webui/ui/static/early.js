// Opens the RPC WebSocket while the app's modules load (a classic script,
// loaded async: it runs as soon as it arrives); the app's RPC client
// adopts the socket (rpc.js).
window.superbotEarlySocket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/rpc");
