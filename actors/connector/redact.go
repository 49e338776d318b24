package connector

import (
	"net/url"
	"regexp"
	"strings"
)

// go-binance signs a request in its query string (timestamp, recvWindow,
// signature), and net/http quotes the whole URL in its *url.Error texts
// ("Post \"https://host/api/v3/order?...&signature=...\": EOF"). Every error
// text that leaves the connector (logs, health reasons, bus events, answers)
// goes through redact first.

// urlRE finds the URLs in a text; sensitiveRE the signed parameters that
// may appear outside one (a query string or form body quoted on its own).
var (
	urlRE       = regexp.MustCompile(`(?i)\b(?:https?|wss?)://[^\s"'<>]+`)
	sensitiveRE = regexp.MustCompile(`(?i)\b(signature|timestamp|recvwindow|apikey|api_key|x-mbx-apikey|listenkey)=[^&\s"'<>]*`)
)

// redactedQuery replaces a URL's query string.
const redactedQuery = "redacted"

// redact returns s with every URL's query replaced by "redacted" and any
// signed parameter's value (signature=, timestamp=, apiKey= ...) removed.
func redact(s string) string {
	s = urlRE.ReplaceAllStringFunc(s, redactURL)
	return sensitiveRE.ReplaceAllString(s, "$1=redacted")
}

// redactURL drops raw's query (and fragment and user info); a URL that does
// not parse keeps only what precedes its '?'.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if i := strings.IndexByte(raw, '?'); i >= 0 {
			return raw[:i] + "?" + redactedQuery
		}
		return raw
	}
	hadQuery := u.RawQuery != "" || u.ForceQuery
	u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment, u.User = "", false, "", "", nil
	if hadQuery {
		return u.String() + "?" + redactedQuery
	}
	return u.String()
}

// errText is err's text, redacted; "" for nil.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return redact(err.Error())
}
