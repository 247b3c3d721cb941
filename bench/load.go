package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// request is one request a scenario sends and the status it expects.
type request struct {
	method, path, token string
	body                []byte
	want                int
}

// scenario is a load shape: conns clients each sending next(client, n)
// back to back, n counting that client's requests from 0.
type scenario struct {
	name  string
	conns int
	next  func(client, n int) request
}

// result is what one run of a scenario measured.
type result struct {
	requests int             // answered with the expected status
	errors   int             // other statuses and transport errors
	statuses map[int]int     // every status seen; 0 for transport errors
	latency  []time.Duration // of every request, sorted
	bytes    int64
	elapsed  time.Duration
}

func (r result) rate() float64 { return float64(r.requests) / r.elapsed.Seconds() }

func (r result) percentile(p float64) time.Duration {
	if len(r.latency) == 0 {
		return 0
	}
	return r.latency[min(len(r.latency)-1, int(p*float64(len(r.latency))))]
}

// count returns how many answers had status.
func (r result) count(status int) int { return r.statuses[status] }

// newTransport returns keep-alive connections for conns clients on loopback.
func newTransport(conns int) *http.Transport {
	return &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}
}

// run drives sc against base for d and returns what it measured. Every
// client stops at the deadline; a request in flight then has 10 s more.
func run(base string, sc scenario, d time.Duration) result {
	tr := newTransport(sc.conns)
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	type local struct {
		lat      []time.Duration
		statuses map[int]int
		ok, bad  int
		bytes    int64
	}
	locals := make([]local, sc.conns)
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for c := range sc.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := &locals[c]
			l.statuses = map[int]int{}
			l.lat = make([]time.Duration, 0, 4096)
			for n := 0; time.Now().Before(deadline); n++ {
				rq := sc.next(c, n)
				t0 := time.Now()
				status, size := do(client, base, rq)
				l.lat = append(l.lat, time.Since(t0))
				l.statuses[status]++
				l.bytes += size
				if status == rq.want {
					l.ok++
				} else {
					l.bad++
				}
			}
		}()
	}
	wg.Wait()
	r := result{statuses: map[int]int{}, elapsed: time.Since(start)}
	for _, l := range locals {
		r.requests += l.ok
		r.errors += l.bad
		r.bytes += l.bytes
		r.latency = append(r.latency, l.lat...)
		for s, n := range l.statuses {
			r.statuses[s] += n
		}
	}
	slices.Sort(r.latency)
	return r
}

// do sends one request and reads the whole answer, so the connection is
// reused; it returns the status (0 when the request failed) and body size.
func do(client *http.Client, base string, rq request) (int, int64) {
	var body io.Reader
	if rq.body != nil {
		body = bytes.NewReader(rq.body)
	}
	req, err := http.NewRequestWithContext(context.Background(), rq.method, base+rq.path, body)
	if err != nil {
		return 0, 0
	}
	if rq.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if rq.token != "" {
		req.Header.Set("Authorization", "Bearer "+rq.token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, n
	}
	return resp.StatusCode, n
}

// get fetches path once and returns the status, headers and body.
func get(base, path, token string) (int, http.Header, []byte, error) {
	req, err := http.NewRequest("GET", base+path, nil)
	if err != nil {
		return 0, nil, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b, err
}

func (r result) statusSummary() string {
	keys := make([]int, 0, len(r.statuses))
	for k := range r.statuses {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b bytes.Buffer
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%d×%d", k, r.statuses[k])
	}
	return b.String()
}
