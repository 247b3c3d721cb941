// Package moderation holds Parley's rules and the actions taken under them. The
// rules are pure functions (Decide, CanEdit, ShouldHide) with table tests; the
// Service loads what a decision needs, calls them, and writes the outcome with
// its counts, flag resolutions and audit entries in one transaction. It does
// not speak HTTP: its errors carry codes (package fault) that the API maps.
package moderation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/models"
)

// MaxDepth caps reply nesting: a reply to a comment at depth MaxDepth-1
// attaches beside it, to the deepest allowed level, so threads stay readable.
const MaxDepth = 5

// rulesKey is the settings row that holds the rules document.
const rulesKey = "moderation_rules"

// rulesTTL bounds how long an instance serves rules another instance changed.
const rulesTTL = 2 * time.Second

// Service loads what a decision needs, calls Decide, and writes the outcome
// (with its counts, flag resolutions and audit entry) in one transaction.
type Service struct {
	Store *models.Store
	Now   func() time.Time

	mu       sync.Mutex
	rules    Rules
	matcher  *Matcher
	loadedAt time.Time
	sites    map[string]*siteRules // see RulesFor
}

// NewService returns a Service on store; now may be nil for the wall clock.
func NewService(store *models.Store, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{Store: store, Now: func() time.Time { return now().UTC() }}
}

// Rules returns the current rules (the defaults until an admin saves some).
func (s *Service) Rules(ctx context.Context) (Rules, error) {
	r, _, err := s.rulesAndMatcher(ctx)
	return r, err
}

func (s *Service) rulesAndMatcher(ctx context.Context) (Rules, *Matcher, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.matcher != nil && time.Since(s.loadedAt) < rulesTTL {
		return s.rules, s.matcher, nil
	}
	r := DefaultRules()
	var row models.Setting
	err := s.Store.Read.WithContext(ctx).Where("key = ?", rulesKey).Take(&row).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
	case err != nil:
		return Rules{}, nil, fmt.Errorf("load rules: %w", models.MapError(err))
	default:
		if r, err = ParseRules([]byte(row.Value)); err != nil {
			return Rules{}, nil, fmt.Errorf("stored rules: %w", err)
		}
	}
	s.rules, s.matcher, s.loadedAt = r, NewMatcher(r.BlockedWords), time.Now()
	return r, s.matcher, nil
}

// SaveRules validates and stores the rules, returning them as stored.
func (s *Service) SaveRules(ctx context.Context, moderatorID uint, r Rules) (Rules, error) {
	if err := r.Validate(); err != nil {
		return Rules{}, err
	}
	doc, err := json.Marshal(r)
	if err != nil {
		return Rules{}, err
	}
	now := s.Now()
	err = s.Store.WriteTx(ctx, func(tx *gorm.DB) error {
		row := models.Setting{Key: rulesKey, Value: string(doc), UpdatedAt: now}
		if err := tx.Save(&row).Error; err != nil {
			return err
		}
		return audit(tx, now, moderatorID, "update_rules", "rules", 0, "")
	})
	if err != nil {
		return Rules{}, fmt.Errorf("save rules: %w", err)
	}
	s.mu.Lock()
	s.matcher = nil // reload on next use
	s.mu.Unlock()
	return r, nil
}

// audit appends one entry to the moderation log, inside the caller's transaction.
func audit(tx *gorm.DB, at time.Time, moderatorID uint, action, targetType string, targetID uint, reason string) error {
	e := models.AuditEntry{At: at, ModeratorID: moderatorID, Action: action, TargetType: targetType, TargetID: targetID, Reason: reason}
	if err := tx.Create(&e).Error; err != nil {
		return fmt.Errorf("write audit entry: %w", err)
	}
	return nil
}

// setStatus moves a comment to status (with holds). Every status change goes
// through here. The caller then recounts the article (recount) if
// showsDifferently(from, status): it does so once per article for a batch of
// changes, and the recount also bumps the version that read caches key on.
func setStatus(tx *gorm.DB, c *models.Comment, status string, holds []string, now time.Time) error {
	updates := map[string]any{"status": status, "holds": strings.Join(holds, ","), "updated_at": now}
	if status != models.StatusPending {
		updates["shadow"] = false
	}
	if err := tx.Model(&models.Comment{}).Where("id = ?", c.ID).Updates(updates).Error; err != nil {
		return fmt.Errorf("set status of comment %d: %w", c.ID, err)
	}
	c.Status, c.Holds = status, strings.Join(holds, ",")
	if status != models.StatusPending {
		c.Shadow = false
	}
	return nil
}
