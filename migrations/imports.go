package migrations

import (
	"time"

	"gorm.io/gorm"
)

// imports records where imported comments came from, so that importing the
// same file again adds nothing and an updated export adds only what is new:
// import_sources maps (site, source format, the source's comment id) to the
// comment made from it. comment_id has no foreign key: a comment that was
// imported and later deleted stays imported, and is not brought back.
//
// import_jobs are the imports started from /admin: the uploaded file waits
// in the data directory, and a job left running by a stopped server runs
// again at start (imports are idempotent, so it resumes).
func imports(tx *gorm.DB) error {
	type importSource struct {
		SiteID    string `gorm:"primaryKey;size:64"`
		Format    string `gorm:"primaryKey;size:16"`
		SourceID  string `gorm:"primaryKey;size:255"`
		CommentID uint   `gorm:"not null"`
	}
	type importJob struct {
		ID         uint   `gorm:"primaryKey"`
		SiteID     string `gorm:"size:64;not null"`
		Format     string `gorm:"size:16;not null"`
		FileName   string `gorm:"size:255;not null;default:''"`
		FilePath   string `gorm:"size:1024;not null;default:''"`
		FileSize   int64  `gorm:"not null;default:0"`
		MapRules   string `gorm:"not null;default:''"`
		DryRun     bool   `gorm:"not null;default:false"`
		State      string `gorm:"size:16;not null;index:idx_import_jobs_state"`
		BytesRead  int64  `gorm:"not null;default:0"`
		Created    int    `gorm:"not null;default:0"`
		Merged     int    `gorm:"not null;default:0"`
		Skipped    int    `gorm:"not null;default:0"`
		Threads    int    `gorm:"not null;default:0"`
		Report     string `gorm:"not null;default:''"`
		Error      string `gorm:"size:2000;not null;default:''"`
		CreatedBy  uint   `gorm:"not null"`
		CreatedAt  time.Time
		UpdatedAt  time.Time
		FinishedAt *time.Time
	}
	m := tx.Migrator()
	if err := m.CreateTable(&importSource{}); err != nil {
		return err
	}
	return m.CreateTable(&importJob{})
}
