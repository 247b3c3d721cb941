package importer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/models"
)

// MaxUpload bounds a file uploaded at /admin. A Disqus export of a million
// comments is about 100 MB gzipped; anything larger should go through
// `parley import`, which reads the file where it lies.
const MaxUpload = 1 << 30

// ErrTooLarge refuses an upload over MaxUpload.
var ErrTooLarge = fmt.Errorf("the file is larger than %d MiB", MaxUpload>>20)

// Jobs runs the imports uploaded at /admin in the background. The file
// waits in Dir and the job's row holds its progress; a job that a stopped
// server left queued or running starts again when Resume runs (imports are
// idempotent, so it completes rather than duplicates).
type Jobs struct {
	Store *models.Store
	Dir   string
	Log   *slog.Logger

	wg sync.WaitGroup
}

// JobRequest is what an upload asks for.
type JobRequest struct {
	Site, Format, Map, FileName string
	DryRun                      bool
	By                          uint
}

// Check validates a request before its file is read: format, rules and site.
func (j *Jobs) Check(ctx context.Context, r JobRequest) error {
	if !slices.Contains(FormatNames(), r.Format) {
		return fmt.Errorf("%w %q", ErrUnknownFormat, r.Format)
	}
	if _, err := ParseRules(r.Map); err != nil {
		return err
	}
	var n int64
	if err := j.Store.Read.WithContext(ctx).Table("sites").Where("id = ?", r.Site).Count(&n).Error; err != nil {
		return models.MapError(err)
	}
	if n == 0 {
		return fmt.Errorf("site %q: %w", r.Site, models.ErrNotFound)
	}
	return nil
}

// Start stores body (at most MaxUpload bytes) in Dir, records the job and
// runs it in the background.
func (j *Jobs) Start(ctx context.Context, r JobRequest, body io.Reader) (*models.ImportJob, error) {
	if err := j.Check(ctx, r); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(j.Dir, 0o700); err != nil {
		return nil, err
	}
	name := make([]byte, 12)
	rand.Read(name)
	path := filepath.Join(j.Dir, "upload-"+hex.EncodeToString(name))
	size, err := saveUpload(path, body)
	if err != nil {
		os.Remove(path)
		return nil, err
	}
	now := time.Now().UTC()
	job := &models.ImportJob{SiteID: r.Site, Format: r.Format, FileName: truncateBytes(r.FileName, 255), FilePath: path, FileSize: size,
		MapRules: r.Map, DryRun: r.DryRun, State: models.ImportQueued, CreatedBy: r.By, CreatedAt: now, UpdatedAt: now}
	if err := j.Store.WriteTx(ctx, func(tx *gorm.DB) error { return tx.Create(job).Error }); err != nil {
		os.Remove(path)
		return nil, err
	}
	j.launch(*job)
	return job, nil
}

func saveUpload(path string, body io.Reader) (int64, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, io.LimitReader(body, MaxUpload+1))
	if err == nil && n > MaxUpload {
		err = ErrTooLarge
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// Resume starts again the jobs left queued or running whose file is in Dir.
func (j *Jobs) Resume(ctx context.Context) error {
	var jobs []models.ImportJob
	if err := j.Store.Read.WithContext(ctx).Where("state IN ?", []string{models.ImportQueued, models.ImportRunning}).
		Order("id").Find(&jobs).Error; err != nil {
		return models.MapError(err)
	}
	for _, job := range jobs {
		if filepath.Dir(job.FilePath) != filepath.Clean(j.Dir) {
			continue // another instance's upload
		}
		j.launch(job)
	}
	return nil
}

// Wait returns when every job started has ended.
func (j *Jobs) Wait() { j.wg.Wait() }

// Get returns one job.
func (j *Jobs) Get(ctx context.Context, id uint) (*models.ImportJob, error) {
	var job models.ImportJob
	if err := j.Store.Read.WithContext(ctx).Take(&job, id).Error; err != nil {
		return nil, models.MapError(err)
	}
	return &job, nil
}

func (j *Jobs) launch(job models.ImportJob) {
	j.wg.Add(1)
	go func() {
		defer j.wg.Done()
		j.run(job)
	}()
}

// progressEvery spaces out progress writes: one row update per interval.
const progressEvery = 300 * time.Millisecond

func (j *Jobs) run(job models.ImportJob) {
	ctx := context.Background()
	log := j.Log
	if log == nil {
		log = slog.Default()
	}
	j.update(ctx, job.ID, map[string]any{"state": models.ImportRunning})
	rules, _ := ParseRules(job.MapRules) // checked at upload
	var last time.Time
	var read int64
	src := Source{Path: job.FilePath, Read: &read}
	sum, err := Import(ctx, j.Store, src, Options{Site: job.SiteID, Format: job.Format, Map: rules, DryRun: job.DryRun,
		Progress: func(s Summary) {
			if time.Since(last) < progressEvery {
				return
			}
			last = time.Now()
			j.update(ctx, job.ID, progressFields(&s, atomic.LoadInt64(&read)))
		}})
	fields := map[string]any{"state": models.ImportDone, "bytes_read": job.FileSize, "finished_at": time.Now().UTC()}
	if sum != nil {
		for k, v := range progressFields(sum, job.FileSize) {
			fields[k] = v
		}
		if report, jerr := json.Marshal(sum); jerr == nil {
			fields["report"] = string(report)
		}
	}
	if err != nil {
		fields["state"] = models.ImportFailed
		fields["error"] = truncateBytes(publicError(err), 2000)
		log.Warn("import failed", "job", job.ID, "format", job.Format, "err", err)
	} else {
		log.Info("import done", "job", job.ID, "format", job.Format, "created", sum.Created, "merged", sum.Merged, "skipped", sum.Skipped)
	}
	j.update(ctx, job.ID, fields)
	os.Remove(job.FilePath)
}

func progressFields(s *Summary, read int64) map[string]any {
	return map[string]any{"created": s.Created, "merged": s.Merged, "skipped": s.Skipped, "threads": len(s.Threads), "bytes_read": read}
}

func (j *Jobs) update(ctx context.Context, id uint, fields map[string]any) {
	fields["updated_at"] = time.Now().UTC()
	err := j.Store.WriteTx(ctx, func(tx *gorm.DB) error {
		return tx.Model(&models.ImportJob{}).Where("id = ?", id).Updates(fields).Error
	})
	if err != nil && j.Log != nil {
		j.Log.Warn("import progress not saved", "job", id, "err", err)
	}
}

// publicError is what an admin is told of a failed import: the reader's
// and writer's own errors in full (they name the line or the record), a
// busy or full database in words.
func publicError(err error) string {
	if errors.Is(err, models.ErrBusy) || errors.Is(err, models.ErrFull) {
		return "the database could not take the import (busy or full); start it again to complete it"
	}
	return err.Error()
}
