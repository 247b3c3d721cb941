package api_test

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/parley-comments/parley/api"
)

// BenchmarkLiveIdleStreams opens 2,000 idle live streams on one instance
// (its cap) and reports the server's heap per stream; the 2,001st stream is
// refused with 503. The clients live in the same process, so the figure
// counts both ends of each connection: an upper bound for the server alone.
//
//	go test ./api -run '^$' -bench LiveIdleStreams -benchtime 1x
func BenchmarkLiveIdleStreams(b *testing.B) {
	const streams = 2000
	for range b.N {
		s := newBenchLiveServer(b, streams)
		hs := httptest.NewServer(s)
		client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 0, MaxIdleConnsPerHost: streams}}
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		bodies := make([]*http.Response, 0, streams)
		for range streams {
			res, err := client.Get(hs.URL + "/api/v1/articles/" + seedSlug + "/live")
			if err != nil {
				b.Fatal(err)
			}
			if res.StatusCode != 200 {
				b.Fatalf("stream %d: status %d", len(bodies)+1, res.StatusCode)
			}
			if _, err := bufio.NewReader(res.Body).ReadString('\n'); err != nil { // the stream is open
				b.Fatal(err)
			}
			bodies = append(bodies, res)
		}
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		res, err := client.Get(hs.URL + "/api/v1/articles/" + seedSlug + "/live")
		if err != nil {
			b.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusServiceUnavailable {
			b.Fatalf("stream %d: status %d, want 503", streams+1, res.StatusCode)
		}
		b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/streams, "heap-B/stream")
		b.ReportMetric(float64(runtime.NumGoroutine()), "goroutines")
		for _, r := range bodies {
			r.Body.Close()
		}
		hs.Close()
	}
}

// newBenchLiveServer is a server with a running bus whose stream caps are
// max per instance and per client (every stream comes from loopback).
func newBenchLiveServer(b *testing.B, max int) http.Handler {
	b.Helper()
	return newTestServer(b, func(c *api.Config) { c.LiveStreams, c.LivePerClient = max, max }).e
}
