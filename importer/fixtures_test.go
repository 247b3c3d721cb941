package importer

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/models/dbtest"
)

// TestSharedFixtures reads real export files from other projects' test
// suites when they sit beside the repository (../shared/fixtures from the
// module root); without them it is skipped. Several are broken the way real
// files are (stray bytes, an unquoted attribute, a deleted thread).
func TestSharedFixtures(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "fixtures")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("no ../shared/fixtures beside the repository")
	}
	for _, tc := range []struct {
		file, format    string
		comments, skips int
	}{
		{"remark42__disqus.xml", "disqus", 5, 1},
		{"remark42__disqus-deleted-thread.xml", "disqus", 2, 4},
		{"remark42__disqus-deleted-post.xml", "disqus", -1, -1},
		{"isso__disqus.xml", "disqus", 5, 1},
		{"comentario__disqus-ok-single.xml.gz", "disqus", 1, 0},
		{"isso__wordpress-wxr.xml", "wordpress", 8, 0},
		{"remark42__wordpress-wxr.xml", "wordpress", 3, 1},
		{"comentario__wordpress-ok-single.zip", "wordpress", 1, 0},
		{"comentario__wordpress-ok-long.zip", "wordpress", 1, 0},
		{"remark42__commento.json", "commento", 3, 0},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join(dir, tc.file)
			if _, err := os.Stat(path); err != nil {
				t.Skip("not in this copy of the fixtures")
			}
			got, err := read(t, tc.format, path)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if tc.comments >= 0 && (len(got.comments) != tc.comments || len(got.skips) != tc.skips) {
				t.Fatalf("%d comments and skips %q, want %d and %d", len(got.comments), got.skips, tc.comments, tc.skips)
			}
			st := dbtest.Open(t)
			sum, err := Import(context.Background(), st, Source{Path: path}, Options{Site: models.DefaultSite, Format: tc.format})
			if err != nil {
				t.Fatalf("import: %v", err)
			}
			if again, err := Import(context.Background(), st, Source{Path: path}, Options{Site: models.DefaultSite, Format: tc.format}); err != nil || again.Created != 0 {
				t.Fatalf("second import created %d (%v)", again.Created, err)
			}
			if sum.Created == 0 && len(got.comments) > 0 {
				t.Fatalf("nothing stored: %+v", sum)
			}
		})
	}
}
