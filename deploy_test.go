package main

import (
	"os"
	"slices"
	"testing"

	"go.yaml.in/yaml/v4"
)

// TestComposeFile: compose.yaml offers a SQLite and a PostgreSQL profile,
// each building this repository's image with its data in a volume at /data.
func TestComposeFile(t *testing.T) {
	b, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Services map[string]struct {
			Build       any               `yaml:"build"`
			Profiles    []string          `yaml:"profiles"`
			Volumes     []string          `yaml:"volumes"`
			Environment map[string]string `yaml:"environment"`
			ReadOnly    bool              `yaml:"read_only"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	for name, profile := range map[string]string{"parley-sqlite": "sqlite", "parley-postgres": "postgres"} {
		s, ok := f.Services[name]
		if !ok {
			t.Fatalf("no service %s", name)
		}
		if s.Build != "." || !slices.Contains(s.Profiles, profile) || !s.ReadOnly ||
			!slices.ContainsFunc(s.Volumes, func(v string) bool { return len(v) > 6 && v[len(v)-6:] == ":/data" }) {
			t.Errorf("%s: build %v, profiles %v, read_only %v, volumes %v", name, s.Build, s.Profiles, s.ReadOnly, s.Volumes)
		}
	}
	if f.Services["parley-postgres"].Environment["PARLEY_DATABASE_URL"] == "" || !slices.Contains(f.Services["postgres"].Profiles, "postgres") {
		t.Error("the postgres profile does not connect Parley to its PostgreSQL")
	}
}
