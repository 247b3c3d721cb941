package migrations

import (
	"time"

	"gorm.io/gorm"
)

// Steps is the schema's history, oldest first. Append only.
var Steps = []Step{
	{ID: "0001_core", Up: core},
}

// core creates users, articles, comments, votes, flags, refresh tokens, bans,
// the audit log and settings, with the indexes of the hot paths.
func core(tx *gorm.DB) error {
	type user struct {
		ID           uint    `gorm:"primaryKey"`
		Username     string  `gorm:"size:32;not null"`
		UsernameKey  string  `gorm:"size:32;not null;uniqueIndex:idx_users_username_key"`
		Email        *string `gorm:"size:320;uniqueIndex:idx_users_email"`
		DisplayName  string  `gorm:"size:256;not null;default:''"`
		PasswordHash string  `gorm:"size:256;not null"`
		Role         string  `gorm:"size:16;not null;default:user"`
		TokenVersion int     `gorm:"not null;default:0"`
		BanKind      string  `gorm:"size:16;not null;default:''"`
		BannedUntil  *time.Time
		BanReason    string `gorm:"size:500;not null;default:''"`
		CreatedAt    time.Time
		UpdatedAt    time.Time
	}
	type article struct {
		ID             uint      `gorm:"primaryKey"`
		Slug           string    `gorm:"size:128;not null;uniqueIndex:idx_articles_slug"`
		Title          string    `gorm:"size:300;not null"`
		Body           string    `gorm:"not null;default:''"`
		URL            string    `gorm:"size:2048;not null;default:''"`
		PublishedAt    time.Time `gorm:"index:idx_articles_published"`
		CommentsLocked bool      `gorm:"not null;default:false"`
		ModerationMode string    `gorm:"size:8;not null;default:post"`
		CommentCount   int       `gorm:"not null;default:0"`
		Version        int64     `gorm:"not null;default:0"`
		CreatedAt      time.Time
		UpdatedAt      time.Time
	}
	type comment struct {
		ID            uint     `gorm:"primaryKey"`
		ArticleID     uint     `gorm:"not null"`
		Article       *article `gorm:"constraint:OnDelete:CASCADE"`
		ParentID      *uint
		Parent        *comment `gorm:"constraint:OnDelete:CASCADE"`
		RootID        *uint
		Depth         int `gorm:"not null;default:0"`
		AuthorID      *uint
		Author        *user  `gorm:"foreignKey:AuthorID;constraint:OnDelete:SET NULL"`
		GuestName     string `gorm:"size:256;not null;default:''"`
		GuestEmail    string `gorm:"size:320;not null;default:''"`
		IP            string `gorm:"size:64;not null;default:''"`
		Body          string `gorm:"not null"`
		BodyHTML      string `gorm:"not null"`
		BodyHash      string `gorm:"size:64;not null;default:''"`
		RenderVersion int    `gorm:"not null;default:0"`
		Status        string `gorm:"size:16;not null"`
		Holds         string `gorm:"size:500;not null;default:''"`
		Shadow        bool   `gorm:"not null;default:false"`
		Score         int    `gorm:"not null;default:0"`
		CreatedAt     time.Time
		EditedAt      *time.Time
		UpdatedAt     time.Time
	}
	type vote struct {
		CommentID uint     `gorm:"primaryKey;autoIncrement:false"`
		Comment   *comment `gorm:"constraint:OnDelete:CASCADE"`
		UserID    uint     `gorm:"primaryKey;autoIncrement:false;index:idx_votes_user"`
		User      *user    `gorm:"constraint:OnDelete:CASCADE"`
		Value     int      `gorm:"not null"`
		CreatedAt time.Time
	}
	type flag struct {
		ID         uint     `gorm:"primaryKey"`
		CommentID  uint     `gorm:"not null;uniqueIndex:idx_flags_once"`
		Comment    *comment `gorm:"constraint:OnDelete:CASCADE"`
		UserID     uint     `gorm:"not null;uniqueIndex:idx_flags_once"`
		User       *user    `gorm:"constraint:OnDelete:CASCADE"`
		Reason     string   `gorm:"size:16;not null"`
		Note       string   `gorm:"size:500;not null;default:''"`
		CreatedAt  time.Time
		ResolvedAt *time.Time
		ResolvedBy *uint
		Resolution string `gorm:"size:16;not null;default:''"`
	}
	type refreshToken struct {
		ID        uint   `gorm:"primaryKey"`
		UserID    uint   `gorm:"not null;index:idx_refresh_user"`
		User      *user  `gorm:"constraint:OnDelete:CASCADE"`
		FamilyID  string `gorm:"size:64;not null;index:idx_refresh_family"`
		TokenHash string `gorm:"size:64;not null;uniqueIndex:idx_refresh_hash"`
		CreatedAt time.Time
		ExpiresAt time.Time
		UsedAt    *time.Time
		RevokedAt *time.Time
	}
	type ban struct {
		ID          uint   `gorm:"primaryKey"`
		UserID      uint   `gorm:"not null;index:idx_bans_user"`
		User        *user  `gorm:"constraint:OnDelete:CASCADE"`
		ModeratorID uint   `gorm:"not null"`
		Kind        string `gorm:"size:16;not null"`
		Reason      string `gorm:"size:500;not null;default:''"`
		ExpiresAt   *time.Time
		CreatedAt   time.Time
		LiftedAt    *time.Time
	}
	type auditEntry struct {
		ID          uint      `gorm:"primaryKey"`
		At          time.Time `gorm:"not null;index:idx_audit_at"`
		ModeratorID uint      `gorm:"not null"`
		Action      string    `gorm:"size:32;not null"`
		TargetType  string    `gorm:"size:16;not null"`
		TargetID    uint      `gorm:"not null"`
		Reason      string    `gorm:"size:500;not null;default:''"`
	}
	type setting struct {
		Key       string `gorm:"primaryKey;size:64"`
		Value     string `gorm:"not null"`
		UpdatedAt time.Time
	}
	m := tx.Migrator()
	for _, t := range []any{&user{}, &article{}, &comment{}, &vote{}, &flag{}, &refreshToken{}, &ban{}, &setting{}} {
		if err := m.CreateTable(t); err != nil {
			return err
		}
	}
	if err := tx.Table("audit_log").Migrator().CreateTable(&auditEntry{}); err != nil {
		return err
	}
	// The thread read: a page of top-level comments by id or by score, then
	// every reply of those threads by root; plus parents, authors (approved
	// counts, duplicates, purges), the moderation queue and counts.
	for _, ddl := range []string{
		"CREATE INDEX idx_comments_thread ON comments (article_id, parent_id, id)",
		"CREATE INDEX idx_comments_top ON comments (article_id, parent_id, score, id)",
		"CREATE INDEX idx_comments_root ON comments (root_id, id)",
		"CREATE INDEX idx_comments_parent ON comments (parent_id)",
		"CREATE INDEX idx_comments_author ON comments (author_id, status)",
		"CREATE INDEX idx_comments_status ON comments (status, id)",
		"CREATE INDEX idx_comments_hash ON comments (body_hash, created_at)",
		"CREATE INDEX idx_comments_article_status ON comments (article_id, status)",
		"CREATE INDEX idx_flags_open ON flags (comment_id, resolved_at)",
	} {
		if err := tx.Exec(ddl).Error; err != nil {
			return err
		}
	}
	return nil
}
