package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestMetricsAddr: with PARLEY_METRICS_ADDR, /metrics moves to that address
// (with parley_build_info) and the public address no longer serves it.
func TestMetricsAddr(t *testing.T) {
	metricsAddr := freeAddr(t)
	srv := startServer(t, t.TempDir(), "PARLEY_METRICS_ADDR="+metricsAddr)
	res, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("public /metrics: %d, want 404", res.StatusCode)
	}
	res, err = http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "parley_build_info{") ||
		!strings.Contains(string(body), `parley_http_requests_total{method="GET",route="/readyz",status="200"}`) {
		t.Fatalf("metrics address: %d\n%.500s", res.StatusCode, body)
	}
}
