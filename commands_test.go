package main

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// runCommand runs the binary to completion and returns its exit status and
// what it wrote to stdout and stderr.
func runCommand(t *testing.T, dataDir string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(parleyBinary(t), args...)
	cmd.Env = processEnv(dataDir)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode(), stdout.String(), stderr.String()
	case err != nil:
		t.Fatal(err)
	}
	return 0, stdout.String(), stderr.String()
}

// TestCommandExitStatuses: 0 on success, 1 on failure, 2 on a command line
// that makes no sense; errors on stderr, nothing on stdout then.
func TestCommandExitStatuses(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want int
		says string // on stderr, or on stdout for 0
	}{
		{[]string{"help"}, 0, "user create --role"},
		{[]string{"--help"}, 0, "admin reset-password USERNAME"},
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"admin"}, 2, "unknown command"},
		{[]string{"admin", "reset-password"}, 2, "usage: parley admin reset-password USERNAME"},
		{[]string{"admin", "reset-password", "a", "b"}, 2, "want 1 argument"},
		{[]string{"user", "create", "alice"}, 2, "--role is required"},
		{[]string{"user", "create", "--role", "owner", "alice"}, 2, `--role "owner"`},
		{[]string{"user", "create", "--colour", "red", "alice"}, 2, "flag provided but not defined"},
		{[]string{"version", "extra"}, 2, "takes no arguments"},
		{[]string{"backup"}, 2, "usage: parley backup FILE"},
		{[]string{"admin", "reset-password", "nobody"}, 1, "no such user"},
		{[]string{"user", "create", "--role", "user", "no spaces"}, 1, "username"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, stdout, stderr := runCommand(t, dir, tc.args...)
			out := stderr
			if tc.want == 0 {
				out = stdout
			} else if stdout != "" {
				t.Errorf("a failing command wrote to stdout: %q", stdout)
			}
			if code != tc.want || !strings.Contains(out, tc.says) {
				t.Fatalf("exit %d, want %d; output %q, want it to mention %q", code, tc.want, out, tc.says)
			}
		})
	}
}

// TestHealthcheckCommand: ready (exit 0) while a server answers /readyz at
// PARLEY_ADDR, not ready (exit 1) when nothing listens there.
func TestHealthcheckCommand(t *testing.T) {
	srv := startServer(t, t.TempDir())
	addr := strings.TrimPrefix(srv.URL, "http://")
	var out, errs strings.Builder
	env := func(k string) string { return map[string]string{"PARLEY_ADDR": addr}[k] }
	if code := run([]string{"healthcheck"}, env, &out, &errs); code != exitOK || !strings.Contains(out.String(), "ready") {
		t.Fatalf("server up: exit %d, %q %q", code, out.String(), errs.String())
	}
	srv.stop(t, 20*time.Second)
	errs.Reset()
	if code := run([]string{"healthcheck"}, env, io.Discard, &errs); code != exitFailure || !strings.Contains(errs.String(), "not ready") {
		t.Fatalf("server down: exit %d, %q", code, errs.String())
	}
}

// TestVersionCommand: `parley version` names the module version and the
// commit the toolchain recorded in the binary ("unknown" when it recorded
// none, as with -buildvcs=false).
func TestVersionCommand(t *testing.T) {
	code, stdout, stderr := runCommand(t, t.TempDir(), "version")
	if code != 0 || !strings.HasPrefix(stdout, "parley ") || !strings.Contains(stdout, "go1.") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	recorded, err := exec.Command("go", "version", "-m", parleyBinary(t)).Output()
	if err != nil {
		t.Fatal(err)
	}
	want := "revision unknown"
	if m := regexp.MustCompile(`\tvcs\.revision=(\S+)`).FindSubmatch(recorded); m != nil {
		want = "revision " + string(m[1])
	}
	if !strings.Contains(stdout, want) {
		t.Fatalf("version %q does not say %q, which the binary records:\n%s", stdout, want, recorded)
	}
}

var passwordLine = regexp.MustCompile(`password(?: for \S+)?: ([0-9a-f]{24})\n`)

// TestAccountCommands: an account made by `user create` signs in with the
// printed password and has its role; `admin reset-password` is refused
// while a server holds the data dir, and afterwards ends every login of
// the user and prints a password that works.
func TestAccountCommands(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runCommand(t, dir, "user", "create", "jane", "--role", "moderator")
	m := passwordLine.FindStringSubmatch(stdout)
	if code != 0 || m == nil || !strings.Contains(stdout, "created moderator jane") {
		t.Fatalf("user create: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	first := m[1]
	if code, _, stderr := runCommand(t, dir, "user", "create", "--role", "user", "JANE"); code != 1 || !strings.Contains(stderr, "taken") {
		t.Fatalf("second jane: exit %d, stderr %q; want 1 and taken", code, stderr)
	}

	srv := startServer(t, dir)
	c := newClient(srv)
	login := func(password string) (int, session) {
		status, body, err := c.do("POST", "/auth/login", "", map[string]string{"login": "jane", "password": password})
		if err != nil {
			t.Fatal(err)
		}
		var s session
		if status == http.StatusOK {
			if err := json.Unmarshal(body, &s); err != nil {
				t.Fatal(err)
			}
		}
		return status, s
	}
	status, before := login(first)
	if status != http.StatusOK || before.User.Role != "moderator" {
		t.Fatalf("login with the printed password: %d, role %q", status, before.User.Role)
	}
	if status, _, _ := c.do("GET", "/moderation/queue", before.AccessToken, nil); status != http.StatusOK {
		t.Fatalf("the new moderator's queue: %d", status)
	}
	code, _, stderr = runCommand(t, dir, "admin", "reset-password", "jane")
	if code != 1 || !strings.Contains(stderr, "another Parley process") {
		t.Fatalf("reset-password beside a running server: exit %d, stderr %q; want 1 and a clear refusal", code, stderr)
	}
	if code := srv.stop(t, 20*time.Second); code != 0 {
		t.Fatalf("server exit %d", code)
	}

	code, stdout, stderr = runCommand(t, dir, "admin", "reset-password", "jane")
	m = passwordLine.FindStringSubmatch(stdout)
	if code != 0 || m == nil || m[1] == first {
		t.Fatalf("reset-password: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	srv = startServer(t, dir)
	c = newClient(srv)
	if status, _ := login(first); status != http.StatusUnauthorized {
		t.Fatalf("old password after the reset: %d, want 401", status)
	}
	if status, _, _ := c.do("GET", "/me", before.AccessToken, nil); status != http.StatusUnauthorized {
		t.Fatalf("access token from before the reset: %d, want 401", status)
	}
	if status, _, _ := c.do("POST", "/auth/refresh", "", map[string]string{"refresh_token": before.RefreshToken}); status != http.StatusUnauthorized {
		t.Fatalf("refresh token from before the reset: %d, want 401", status)
	}
	if status, _ := login(m[1]); status != http.StatusOK {
		t.Fatalf("the new password: %d, want 200", status)
	}
}

type session struct {
	User struct {
		Role string `json:"role"`
	} `json:"user"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}
