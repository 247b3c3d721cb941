package moderation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/models"
)

// siteRules is one site's own rules as last read; own is false when the site
// follows the global rules.
type siteRules struct {
	own      bool
	rules    Rules
	matcher  *Matcher
	loadedAt time.Time
}

// maxSiteRules bounds the per-site cache; past it, it starts over.
const maxSiteRules = 10000

// RulesFor returns the rules of a site: its own when it has some, else the
// global ones. An empty or unknown site gets the global rules.
func (s *Service) RulesFor(ctx context.Context, siteID string) (Rules, error) {
	r, _, err := s.siteRulesAndMatcher(ctx, siteID)
	return r, err
}

func (s *Service) siteRulesAndMatcher(ctx context.Context, siteID string) (Rules, *Matcher, error) {
	if siteID == "" {
		return s.rulesAndMatcher(ctx)
	}
	s.mu.Lock()
	e, ok := s.sites[siteID]
	s.mu.Unlock()
	if !ok || time.Since(e.loadedAt) >= rulesTTL {
		var doc string
		err := s.Store.Read.WithContext(ctx).Model(&models.Site{}).Where("id = ?", siteID).Pluck("rules", &doc).Error
		if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
			return Rules{}, nil, fmt.Errorf("rules of site %q: %w", siteID, models.MapError(err))
		}
		e = &siteRules{loadedAt: time.Now()}
		if doc != "" {
			r, err := ParseRules([]byte(doc))
			if err != nil {
				return Rules{}, nil, fmt.Errorf("rules of site %q: %w", siteID, err)
			}
			e.own, e.rules, e.matcher = true, r, NewMatcher(r.BlockedWords)
		}
		s.mu.Lock()
		if s.sites == nil || len(s.sites) >= maxSiteRules {
			s.sites = map[string]*siteRules{}
		}
		s.sites[siteID] = e
		s.mu.Unlock()
	}
	if !e.own {
		return s.rulesAndMatcher(ctx)
	}
	return e.rules, e.matcher, nil
}

// ForgetSiteRules makes the next use of a site's rules read them again,
// after they were changed through this instance.
func (s *Service) ForgetSiteRules(siteID string) {
	s.mu.Lock()
	delete(s.sites, siteID)
	s.mu.Unlock()
}

// siteOfComment returns the site of a comment's article, "" for a missing
// comment (whose action then fails on its own, with the global rules).
func (s *Service) siteOfComment(ctx context.Context, id uint) (string, error) {
	var site string
	err := s.Store.Read.WithContext(ctx).Raw("SELECT a.site_id FROM comments c JOIN articles a ON a.id = c.article_id WHERE c.id = ?", id).Row().Scan(&site)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("site of comment %d: %w", id, models.MapError(err))
	}
	return site, nil
}
