package exchangesim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
)

const (
	defaultRecvWindow = 5000
	maxRecvWindow     = 60000
)

// splitSigned returns the signed payload and the signature, exactly as received.
// Binance ("SIGNED endpoint security", "SIGNED endpoint examples for POST /api/v3/order"):
// the parameters may be in the query string, the form body or both, and the payload is
// totalParams = queryString + requestBody, concatenated with no separator; signature is
// the last parameter of whichever part carries it (ccxt puts everything, signature
// included, in the body of a POST; go-binance puts it last in the query).
func splitSigned(rawQuery string, body []byte) (payload, sig string, ok bool) {
	if rest, s, found := cutSignature(rawQuery); found {
		return rest + string(body), s, s != ""
	}
	if rest, s, found := cutSignature(string(body)); found {
		return rawQuery + rest, s, s != ""
	}
	return "", "", false
}

// cutSignature removes a trailing "signature=…" parameter from an urlencoded string. It
// reports found when the part has a signature parameter; s is empty when it is not last
// or not decodable.
func cutSignature(part string) (rest, s string, found bool) {
	i := strings.LastIndex(part, "signature=")
	if i < 0 || (i > 0 && part[i-1] != '&') {
		return "", "", false
	}
	v := part[i+len("signature="):]
	if strings.IndexByte(v, '&') >= 0 {
		return "", "", true // the signature must be the last parameter
	}
	dec, err := url.QueryUnescape(v)
	if err != nil {
		return "", "", true
	}
	return strings.TrimSuffix(part[:i], "&"), dec, true
}

// hmacHex returns the lowercase hex HMAC-SHA256 of payload.
func hmacHex(secret, payload string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(payload))
	return hex.EncodeToString(m.Sum(nil))
}

// verifyHMAC compares case-insensitively (Binance accepts either case for HMAC) in constant time.
func verifyHMAC(secret, payload, sig string) bool {
	want := hmacHex(secret, payload)
	return hmac.Equal([]byte(want), []byte(strings.ToLower(sig)))
}

// lookupKey resolves X-MBX-APIKEY: -2014 when missing or malformed, -2015 when unknown.
// The caller holds e.mu.
func (e *Exchange) lookupKey(key string) (*account, *apiError) {
	if key == "" || len(key) > 256 {
		return nil, errf(401, -2014, "API-key format invalid.")
	}
	a := e.accounts[key]
	if a == nil {
		return nil, errf(401, -2015, "Invalid API-key, IP, or permissions for action.")
	}
	return a, nil
}

// checkTiming applies Binance's rule: accept if timestamp < server+1000 and
// server-timestamp <= recvWindow. timestamp may be ms or µs; recvWindow may have 3 decimals.
func checkTiming(tsStr, rwStr string, nowMs int64) *apiError {
	if tsStr == "" {
		return errMandatory("timestamp")
	}
	ts, err := strconv.ParseInt(tsStr, 10, 64)
	if err != nil || ts <= 0 {
		return errf(400, -1100, "Illegal characters found in parameter 'timestamp'; legal range is '^[0-9]{1,20}$'.")
	}
	tsMicro := ts > 1e14
	tsD := decimal.NewFromInt(ts)
	if tsMicro {
		tsD = tsD.Shift(-3)
	}
	rw := decimal.NewFromInt(defaultRecvWindow)
	if rwStr != "" {
		rw, err = parseDecimal(rwStr)
		if err != nil || rw.Exponent() < -3 {
			return errf(400, -1100, "Illegal characters found in parameter 'recvWindow'; legal range is '^[0-9]{1,6}(\\.[0-9]{1,3})?$'.")
		}
		if rw.GreaterThan(decimal.NewFromInt(maxRecvWindow)) {
			return errf(400, -1131, "recvWindow must be less than 60000")
		}
	}
	now := decimal.NewFromInt(nowMs)
	if !tsD.LessThan(now.Add(decimal.NewFromInt(1000))) {
		return errf(400, -1021, "Timestamp for this request was 1000ms ahead of the server's time.")
	}
	if now.Sub(tsD).GreaterThan(rw) {
		return errf(400, -1021, "Timestamp for this request is outside of the recvWindow.")
	}
	return nil
}

// authenticate checks the API key, the signature over the raw bytes and the timing rule.
// The caller holds e.mu.
func (e *Exchange) authenticate(r *http.Request, body []byte, params url.Values, nowMs int64) (*account, *apiError) {
	a, ae := e.lookupKey(r.Header.Get("X-MBX-APIKEY"))
	if ae != nil {
		return nil, ae
	}
	payload, sig, ok := splitSigned(r.URL.RawQuery, body)
	if !ok {
		if params.Get("signature") != "" {
			return nil, errf(400, -1022, "Signature for this request is not valid.")
		}
		return nil, errMandatory("signature")
	}
	if ae := checkTiming(params.Get("timestamp"), params.Get("recvWindow"), nowMs); ae != nil {
		return nil, ae
	}
	if !verifyHMAC(a.secret, payload, sig) {
		return nil, errf(400, -1022, "Signature for this request is not valid.")
	}
	return a, nil
}
