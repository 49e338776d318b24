package modules

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// healthClient is shared by every health check; it keeps no cookies and
// follows no redirects, so a check is one request.
var healthClient = &http.Client{
	Transport: &http.Transport{DisableKeepAlives: true, MaxIdleConns: 0},
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}

// CheckHealth does one HTTP GET of url: nil when it answers 200. It blocks
// for at most timeout; run it off actor goroutines.
func CheckHealth(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := healthClient.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("health: HTTP %d", res.StatusCode)
	}
	return nil
}

// waitHealthy checks url every interval until it answers 200 or ctx ends,
// and returns the last error. It runs on its own goroutine.
func waitHealthy(ctx context.Context, url string, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	var last error
	for {
		err := CheckHealth(ctx, url, time.Second)
		if err == nil {
			return nil
		}
		if ctx.Err() == nil || last == nil {
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not healthy in time: %w", last)
		case <-t.C:
		}
	}
}
