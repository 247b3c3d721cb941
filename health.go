package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"
)

// runHealthcheck asks the server at PARLEY_ADDR (on loopback when the
// address names no host) whether it is ready: the image's HEALTHCHECK, as
// the image has no shell or curl to do it.
func runHealthcheck(c *cli, args []string) error {
	if len(args) > 0 {
		return usagef("healthcheck takes no arguments")
	}
	cfg, _, err := c.config()
	if err != nil {
		return err
	}
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return fmt.Errorf("PARLEY_ADDR %q: %w", cfg.Addr, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	url := "http://" + net.JoinHostPort(host, port) + "/readyz"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("not ready: %w", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("not ready: %s answered %d", url, res.StatusCode)
	}
	fmt.Fprintln(c.stdout, "ready")
	return nil
}
