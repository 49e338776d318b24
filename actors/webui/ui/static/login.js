// The login page: say why the last login failed (/login?error=CODE).
const why = {
  unauthorized: "Wrong token or password.",
  rate_limited: "Too many failed logins: wait a moment.",
  unavailable: "The daemon could not check the token: try again.",
};
const code = new URLSearchParams(location.search).get("error");
const out = document.getElementById("login-error");
if (code && out) out.textContent = why[code] || "Login failed (" + code + ").";
