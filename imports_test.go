package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportExportCommands: `parley import` and `parley export` through the
// built binary: usage errors exit 2, failures 1, success 0 with a summary on
// stdout; a second import adds nothing; the export is written once.
func TestImportExportCommands(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join("importer", "testdata", "disqus.xml")
	rules := "http://old.example/blog/* => https://new.example/posts/*"
	for _, tc := range []struct {
		args []string
		want int
		says string
	}{
		{[]string{"import", "--site", "default", file}, 2, "--format is required"},
		{[]string{"import", "--format", "blogger", "--site", "default", file}, 2, `--format "blogger"`},
		{[]string{"import", "--format", "disqus", file}, 2, "--site is required"},
		{[]string{"import", "--format", "disqus", "--site", "default"}, 2, "want 1 argument"},
		{[]string{"import", "--format", "disqus", "--site", "default", "--map", "a* => b*c*", file}, 2, "--map"},
		{[]string{"import", "--format", "disqus", "--site", "default", filepath.Join(dir, "missing.xml")}, 1, "no such file"},
		{[]string{"import", "--format", "wordpress", "--site", "default", file}, 1, "not in the given format"},
		{[]string{"import", "--format", "disqus", "--site", "nosuch", file}, 1, "not found"},
		{[]string{"import", "--format", "disqus", "--site", "default", "--dry-run", "--map", rules, file}, 0,
			"dry run: would import 8 comments (0 already imported, 3 skipped) into 2 threads (2 new)"},
		{[]string{"import", "--format", "disqus", "--site", "default", "--map", rules, file}, 0, "https://new.example/posts/first-post: 7 created"},
		{[]string{"import", "--format", "disqus", "--site", "default", "--map", rules, file}, 0, "imported 0 comments (8 already imported"},
		{[]string{"export", "--site", "nosuch", filepath.Join(dir, "x.jsonl")}, 1, "not found"},
		{[]string{"export", filepath.Join(dir, "out.jsonl")}, 0, "exported to"},
		{[]string{"export", filepath.Join(dir, "out.jsonl")}, 1, "already exists"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, stdout, stderr := runCommand(t, dir, tc.args...)
			out := stderr
			if tc.want == 0 {
				out = stdout
			}
			if code != tc.want || !strings.Contains(out, tc.says) {
				t.Fatalf("exit %d, want %d; stdout %q stderr %q, want it to mention %q", code, tc.want, stdout, stderr, tc.says)
			}
		})
	}
	out, err := os.ReadFile(filepath.Join(dir, "out.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(out), `{"format":"parley-export","version":1`) || !strings.Contains(string(out), "Hello **world**") {
		t.Fatalf("export %.200s", out)
	}
}
