//go:build image

package main

import (
	"debug/elf"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestImage checks the container image that .ci/image built (tag in
// PARLEY_TEST_IMAGE, default localhost/parley:ci): its configuration (non-root
// user, /data volume, port, health check, labels) and its binary, copied out
// of the image (this machine cannot run containers) and run on loopback: it
// is statically linked and answers /readyz, and its health check command
// says ready.
//
//	.ci/image && go test -tags image -run TestImage .
func TestImage(t *testing.T) {
	tag := os.Getenv("PARLEY_TEST_IMAGE")
	if tag == "" {
		tag = "localhost/parley:ci"
	}
	out, err := exec.Command("podman", "image", "inspect", tag).Output()
	if err != nil {
		t.Fatalf("podman image inspect %s: %v (build it with .ci/image)", tag, err)
	}
	var images []struct {
		Config struct {
			User         string
			ExposedPorts map[string]any
			Volumes      map[string]any
			Entrypoint   []string
			Env          []string
			Labels       map[string]string
			Healthcheck  *struct{ Test []string } // filled from the top level
		}
		Healthcheck *struct{ Test []string }
	}
	if err := json.Unmarshal(out, &images); err != nil || len(images) != 1 {
		t.Fatalf("%v: %.300s", err, out)
	}
	cfg := images[0].Config
	cfg.Healthcheck = images[0].Healthcheck
	switch {
	case cfg.User == "" || cfg.User == "root" || strings.HasPrefix(cfg.User, "0"):
		t.Errorf("runs as %q, want a non-root user", cfg.User)
	case cfg.Volumes["/data"] == nil:
		t.Errorf("volumes %v, want /data", cfg.Volumes)
	case cfg.ExposedPorts["8080/tcp"] == nil:
		t.Errorf("exposed ports %v, want 8080/tcp", cfg.ExposedPorts)
	case !slices.Equal(cfg.Entrypoint, []string{"/parley"}):
		t.Errorf("entrypoint %v", cfg.Entrypoint)
	case cfg.Healthcheck == nil || !slices.Contains(cfg.Healthcheck.Test, "healthcheck"):
		t.Errorf("health check %+v, want /parley healthcheck", cfg.Healthcheck)
	case cfg.Labels["org.opencontainers.image.title"] != "Parley" || cfg.Labels["org.opencontainers.image.source"] == "":
		t.Errorf("labels %v lack the OCI title and source", cfg.Labels)
	case !slices.Contains(cfg.Env, "PARLEY_DATA_DIR=/data"):
		t.Errorf("env %v, want PARLEY_DATA_DIR=/data", cfg.Env)
	}

	// Copy the binary out of a created (never started) container.
	name := "parley-image-test-" + filepath.Base(t.TempDir())
	if out, err := exec.Command("podman", "create", "--name", name, tag).CombinedOutput(); err != nil {
		t.Fatalf("podman create: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("podman", "rm", "--force", name).Run() })
	bin := filepath.Join(t.TempDir(), "parley")
	if out, err := exec.Command("podman", "cp", name+":/parley", bin).CombinedOutput(); err != nil {
		t.Fatalf("podman cp: %v\n%s", err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("the image's binary asks for a dynamic loader: it is not statically linked")
		}
	}
	f.Close()

	addr := freeAddr(t)
	p := startBinary(t, bin, processEnv(t.TempDir(), "PARLEY_ADDR="+addr)) // SQLite, as the image's default
	p.URL = "http://" + addr
	p.waitReady(t)
	health := exec.Command(bin, "healthcheck")
	health.Env = processEnv(t.TempDir(), "PARLEY_ADDR="+addr)
	if out, err := health.CombinedOutput(); err != nil || !strings.Contains(string(out), "ready") {
		t.Fatalf("healthcheck: %v %s", err, out)
	}
	version, err := exec.Command(bin, "version").Output()
	if err != nil || !strings.HasPrefix(string(version), "parley ") {
		t.Fatalf("version: %v %s", err, version)
	}
	t.Logf("image binary: %s", strings.TrimSpace(string(version)))
}
