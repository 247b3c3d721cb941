package migrations

import (
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/markup"
)

// Steps is the schema's history, oldest first. Append only.
var Steps = []Step{
	{ID: "0001_core", Up: core},
	{ID: "0002_read_paths", Up: readPaths},
	{ID: "0003_lean_inserts", Up: leanInserts},
	{ID: "0004_login_throttles", Up: loginThrottles},
	{ID: "0004_username_skeletons", Up: usernameSkeletons},
	{ID: "0006_sites", Up: sites},
	{ID: "0006_sites_listing", Up: sitesListing},
	{ID: "0007_1_mail_outbox", Up: mailOutbox},
	{ID: "0007_2_identity", Up: identity},
	{ID: "0007_3_login_results", Up: loginResults},
	{ID: "0008_imports", Up: imports},
	{ID: "0009_1_change_events", Up: changeEvents},
	{ID: "0009_2_feed_tokens", Up: feedTokens},
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

// readPaths bounds three hot reads by their page rather than by the data
// behind it: a signed-in reader's votes on one article (votes.article_id,
// idx_votes_reader), a thread's top sort (idx_comments_score, in the order
// the page is read) and the flagged moderation queue (idx_flags_unresolved).
//
// votes.article_id copies the comment's article, and comments never move,
// so it takes no foreign key of its own: the comment's cascade removes the
// vote, and a key on articles would scan votes on every article deleted.
func readPaths(tx *gorm.DB) error {
	var ddl []string
	if tx.Dialector.Name() == "sqlite" {
		// SQLite adds a NOT NULL column only with a default, which would let
		// a vote written without its article through as 0. The table is
		// rebuilt instead (nothing references votes); idx_votes_user goes
		// with the old one.
		ddl = []string{
			`CREATE TABLE votes_new (
				comment_id integer,
				user_id integer,
				article_id integer NOT NULL,
				value integer NOT NULL,
				created_at datetime,
				PRIMARY KEY (comment_id, user_id),
				CONSTRAINT fk_votes_comment FOREIGN KEY (comment_id) REFERENCES comments(id) ON DELETE CASCADE,
				CONSTRAINT fk_votes_user FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE)`,
			`INSERT INTO votes_new (comment_id, user_id, article_id, value, created_at)
				SELECT v.comment_id, v.user_id, c.article_id, v.value, v.created_at FROM votes v JOIN comments c ON c.id = v.comment_id`,
			"DROP TABLE votes",
			"ALTER TABLE votes_new RENAME TO votes",
		}
	} else {
		ddl = []string{
			"ALTER TABLE votes ADD COLUMN article_id bigint",
			"UPDATE votes v SET article_id = c.article_id FROM comments c WHERE c.id = v.comment_id",
			"ALTER TABLE votes ALTER COLUMN article_id SET NOT NULL",
			"DROP INDEX idx_votes_user",
		}
	}
	ddl = append(ddl,
		// A reader's votes on an article, read from the index alone. Its
		// user_id prefix serves what idx_votes_user did (a user's deletion);
		// a comment's votes go by the primary key.
		"CREATE INDEX idx_votes_reader ON votes (user_id, article_id, comment_id, value)",
		// sort=top reads score DESC, id ASC: with score ascending in the
		// index, SQLite sorted the id part and PostgreSQL sorted the whole level.
		"CREATE INDEX idx_comments_score ON comments (article_id, parent_id, score DESC, id)",
		"DROP INDEX idx_comments_top",
		// Open flags are few and resolved ones pile up: the flagged queue and
		// its count start here. idx_flags_once still finds a comment's flags.
		"CREATE INDEX idx_flags_unresolved ON flags (comment_id) WHERE resolved_at IS NULL",
		"DROP INDEX idx_flags_open",
	)
	for _, q := range ddl {
		if err := tx.Exec(q).Error; err != nil {
			return fmt.Errorf("%s: %w", strings.Join(strings.Fields(q)[:3], " "), err) // "CREATE INDEX idx_…"
		}
	}
	return nil
}

// leanInserts takes one index off the path of every new comment. Each index
// led by article_id puts a new comment on a page of its own when comments
// arrive across many articles, and every such page is written to the WAL and
// synced at commit: with idx_comments_article_status gone, a batch of posts
// writes about a fifth less. What it served (an article's comments by
// status, for counting) is split between the thread index (all of an
// article's comments) and a partial index of the comments not approved,
// which an approved comment, the common case, never touches. Queries that
// use it spell its predicate out (status <> 'approved'), as a partial index
// is only chosen when the query implies its condition.
func leanInserts(tx *gorm.DB) error {
	for _, q := range []string{
		"CREATE INDEX idx_comments_unapproved ON comments (article_id, status) WHERE status <> 'approved'",
		"DROP INDEX idx_comments_article_status",
	} {
		if err := tx.Exec(q).Error; err != nil {
			return fmt.Errorf("%s: %w", strings.Join(strings.Fields(q)[:3], " "), err)
		}
	}
	return nil
}

// mailOutbox adds the durable queue of outgoing mail, the time a user's
// address was verified, and the addresses guests gave with theirs. The
// partial index holds only the mail still to send, which is what the sender
// polls: sent rows pile up outside it.
func mailOutbox(tx *gorm.DB) error {
	type mailOutbox struct {
		ID            uint      `gorm:"primaryKey"`
		Recipient     string    `gorm:"size:320;not null"`
		Subject       string    `gorm:"size:998;not null"`
		TextBody      string    `gorm:"not null"`
		HTMLBody      string    `gorm:"not null;default:''"`
		Headers       string    `gorm:"not null;default:'{}'"`
		Attempts      int       `gorm:"not null;default:0"`
		NextAttemptAt time.Time `gorm:"not null"`
		ClaimToken    string    `gorm:"size:32;not null;default:''"`
		LastError     string    `gorm:"size:500;not null;default:''"`
		SentAt        *time.Time
		FailedAt      *time.Time
		CreatedAt     time.Time
	}
	type guestEmail struct {
		ID         uint   `gorm:"primaryKey"`
		Email      string `gorm:"size:320;not null;uniqueIndex:idx_guest_emails_email"`
		VerifiedAt *time.Time
		CreatedAt  time.Time
	}
	if err := tx.Table("mail_outbox").Migrator().CreateTable(&mailOutbox{}); err != nil {
		return err
	}
	if err := tx.Migrator().CreateTable(&guestEmail{}); err != nil {
		return err
	}
	timestamp := "timestamptz"
	if tx.Dialector.Name() == "sqlite" {
		timestamp = "datetime"
	}
	for _, q := range []string{
		"CREATE INDEX idx_mail_outbox_due ON mail_outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL",
		"ALTER TABLE users ADD COLUMN email_verified_at " + timestamp,
	} {
		if err := tx.Exec(q).Error; err != nil {
			return fmt.Errorf("%s: %w", strings.Join(strings.Fields(q)[:3], " "), err)
		}
	}
	return nil
}

// identity adds the one-time links sent by mail (stored as SHA-256 only),
// the accounts of outside identity providers linked to users, the sign-in
// flows in progress with them, and an index of guests' comments by address,
// which is what a verified guest's trust is counted on.
func identity(tx *gorm.DB) error {
	type user struct{ ID uint }
	type emailToken struct {
		ID        uint      `gorm:"primaryKey"`
		TokenHash string    `gorm:"size:64;not null;uniqueIndex:idx_email_tokens_hash"`
		Purpose   string    `gorm:"size:16;not null"`
		UserID    *uint     `gorm:"index:idx_email_tokens_user"`
		User      *user     `gorm:"constraint:OnDelete:CASCADE"`
		Email     string    `gorm:"size:320;not null;index:idx_email_tokens_email"`
		Payload   string    `gorm:"size:2000;not null;default:''"`
		ExpiresAt time.Time `gorm:"not null"`
		UsedAt    *time.Time
		CreatedAt time.Time
	}
	type userIdentity struct {
		ID        uint   `gorm:"primaryKey"`
		UserID    uint   `gorm:"not null;index:idx_user_identities_user"`
		User      *user  `gorm:"constraint:OnDelete:CASCADE"`
		Provider  string `gorm:"size:32;not null;uniqueIndex:idx_user_identities_subject"`
		Subject   string `gorm:"size:255;not null;uniqueIndex:idx_user_identities_subject"`
		Email     string `gorm:"size:320;not null;default:''"`
		CreatedAt time.Time
	}
	type loginFlow struct {
		ID         uint   `gorm:"primaryKey"`
		StateHash  string `gorm:"size:64;not null;uniqueIndex:idx_login_flows_state"`
		Provider   string `gorm:"size:32;not null"`
		Nonce      string `gorm:"size:64;not null"`
		Verifier   string `gorm:"size:128;not null"`
		Origin     string `gorm:"size:2048;not null;default:''"`
		LinkUserID *uint
		ExpiresAt  time.Time `gorm:"not null"`
		CreatedAt  time.Time
	}
	m := tx.Migrator()
	if err := m.CreateTable(&emailToken{}); err != nil {
		return err
	}
	if err := tx.Table("user_identities").Migrator().CreateTable(&userIdentity{}); err != nil {
		return err
	}
	if err := m.CreateTable(&loginFlow{}); err != nil {
		return err
	}
	return tx.Exec("CREATE INDEX idx_comments_guest_email ON comments (guest_email, status) WHERE author_id IS NULL").Error
}

// loginThrottles counts failed password logins per account, for the growing
// delay that per-address limits cannot give.
func loginThrottles(tx *gorm.DB) error {
	type loginThrottle struct {
		Subject     string `gorm:"primaryKey;size:340"`
		Failures    int    `gorm:"not null;default:0"`
		LockedUntil *time.Time
		UpdatedAt   time.Time `gorm:"not null;index:idx_login_throttles_updated_at"`
	}
	return tx.Migrator().CreateTable(&loginThrottle{})
}

// usernameSkeletons stores each username's look-alike skeleton, indexed,
// so that a display name passing for another user's username is found
// without reading every user.
func usernameSkeletons(tx *gorm.DB) error {
	if err := tx.Exec("ALTER TABLE users ADD COLUMN username_skeleton varchar(128) NOT NULL DEFAULT ''").Error; err != nil {
		return err
	}
	if err := tx.Exec("CREATE INDEX idx_users_username_skeleton ON users (username_skeleton)").Error; err != nil {
		return err
	}
	var users []struct {
		ID       uint
		Username string
	}
	if err := tx.Table("users").Select("id", "username").Find(&users).Error; err != nil {
		return err
	}
	for _, u := range users {
		if err := tx.Exec("UPDATE users SET username_skeleton = ? WHERE id = ?", markup.Skeleton(u.Username), u.ID).Error; err != nil {
			return err
		}
	}
	return nil
}

// loginResults lets a sign-in with an outside provider end where it began:
// the widget that started it holds a secret (stored hashed) and collects
// the login with it once the provider's callback has named the user.
func loginResults(tx *gorm.DB) error {
	timestamp := "timestamptz"
	if tx.Dialector.Name() == "sqlite" {
		timestamp = "datetime"
	}
	for _, q := range []string{
		"ALTER TABLE login_flows ADD COLUMN secret_hash varchar(64) NOT NULL DEFAULT ''",
		"ALTER TABLE login_flows ADD COLUMN user_id bigint",
		"ALTER TABLE login_flows ADD COLUMN outcome varchar(300) NOT NULL DEFAULT ''",
		"ALTER TABLE login_flows ADD COLUMN done_at " + timestamp,
		"CREATE INDEX idx_login_flows_secret ON login_flows (secret_hash)",
	} {
		if err := tx.Exec(q).Error; err != nil {
			return fmt.Errorf("%s: %w", strings.Join(strings.Fields(q)[:3], " "), err)
		}
	}
	return nil
}
