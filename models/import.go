package models

import "time"

// ImportSource maps a comment of another system (its site, the source
// format and the source's id) to the comment imported from it.
type ImportSource struct {
	SiteID    string `gorm:"primaryKey;size:64"`
	Format    string `gorm:"primaryKey;size:16"`
	SourceID  string `gorm:"primaryKey;size:255"`
	CommentID uint   `gorm:"not null"`
}

// Import job states.
const (
	ImportQueued  = "queued"
	ImportRunning = "running"
	ImportDone    = "done"
	ImportFailed  = "failed"
)

// ImportJob is an import started from /admin: its uploaded file, its
// progress and, once over, its summary (Report, JSON) or its error.
type ImportJob struct {
	ID         uint   `gorm:"primaryKey"`
	SiteID     string `gorm:"size:64;not null"`
	Format     string `gorm:"size:16;not null"`
	FileName   string `gorm:"size:255;not null"`
	FilePath   string `gorm:"size:1024;not null"`
	FileSize   int64  `gorm:"not null"`
	MapRules   string `gorm:"not null"`
	DryRun     bool   `gorm:"not null"`
	State      string `gorm:"size:16;not null"`
	BytesRead  int64  `gorm:"not null"`
	Created    int    `gorm:"not null"`
	Merged     int    `gorm:"not null"`
	Skipped    int    `gorm:"not null"`
	Threads    int    `gorm:"not null"`
	Report     string `gorm:"not null"`
	Error      string `gorm:"size:2000;not null"`
	CreatedBy  uint   `gorm:"not null"`
	CreatedAt  time.Time
	UpdatedAt  time.Time
	FinishedAt *time.Time
}
