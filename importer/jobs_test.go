package importer

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/models/dbtest"
)

// TestJobsResume: a job that a stopped server left running (its upload
// still in the directory, half its comments stored) runs again at start and
// completes without duplicates; its file goes once it is done.
func TestJobsResume(t *testing.T) {
	st := dbtest.Open(t)
	dir := t.TempDir()
	src, err := os.ReadFile("testdata/disqus.xml")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "upload-interrupted")
	if err := os.WriteFile(path, src, 0o600); err != nil {
		t.Fatal(err)
	}
	importFile(t, st, "disqus", "testdata/disqus.xml", "", false) // what the first run stored
	before := count(t, st, "SELECT COUNT(*) FROM comments")
	now := time.Now().UTC()
	job := models.ImportJob{SiteID: models.DefaultSite, Format: "disqus", FileName: "disqus.xml", FilePath: path, FileSize: int64(len(src)),
		State: models.ImportRunning, CreatedBy: 1, CreatedAt: now, UpdatedAt: now}
	other := job
	other.FilePath = filepath.Join(t.TempDir(), "another-instances-upload")
	for _, j := range []*models.ImportJob{&job, &other} {
		if err := st.Write.Create(j).Error; err != nil {
			t.Fatal(err)
		}
	}
	jobs := &Jobs{Store: st, Dir: dir}
	if err := jobs.Resume(context.Background()); err != nil {
		t.Fatal(err)
	}
	jobs.Wait()
	got, err := jobs.Get(context.Background(), job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != models.ImportDone || got.Merged != before || got.Created != 0 || got.Report == "" {
		t.Fatalf("resumed job %+v, want done with %d merged", got, before)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("the upload is still there after its import: %v", err)
	}
	if o, _ := jobs.Get(context.Background(), other.ID); o.State != models.ImportRunning {
		t.Fatalf("another instance's job was touched: %s", o.State)
	}
	if n := count(t, st, "SELECT COUNT(*) FROM comments"); n != before {
		t.Fatalf("%d comments after resuming, want %d", n, before)
	}
}
