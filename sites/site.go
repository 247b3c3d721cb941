package sites

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/fault"
	"github.com/parley-comments/parley/markup"
	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/moderation"
)

// Limits on a site's settings.
const (
	maxNameChars = 100
	maxOrigins   = 50
)

var (
	// ErrExists refuses a new site whose id is taken.
	ErrExists = fault.New(fault.Conflict, "a site with this id exists")
	// ErrInUse refuses to delete the default site or a site that still has threads.
	ErrInUse = fault.New(fault.Conflict, "the site still has threads, or is the default site")
)

var idPattern = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$`)

// Patch is a change to a site's settings; nil fields stay as they are.
// Rules is a rules document (JSON) or "" for the global rules.
type Patch struct {
	Name        *string
	Origins     *[]string
	AutoThreads *bool
	KeepQuery   *bool
	Rules       *string
}

// New returns a site with the defaults: automatic threads on, query
// strings not part of keys, the global rules.
func New(id string) models.Site {
	return models.Site{ID: id, Origins: []string{}, AutoThreads: true}
}

// apply validates p onto s, naming every bad field.
func (p Patch) apply(s *models.Site) error {
	fields := map[string]string{}
	if p.Name != nil {
		name := markup.CleanName(*p.Name)
		switch {
		case name == "":
			fields["name"] = "required"
		case utf8.RuneCountInString(name) > maxNameChars:
			fields["name"] = fmt.Sprintf("at most %d characters", maxNameChars)
		}
		s.Name = name
	}
	if p.Origins != nil {
		origins, problem := cleanOrigins(*p.Origins)
		if problem != "" {
			fields["origins"] = problem
		}
		s.Origins = origins
	}
	if p.AutoThreads != nil {
		s.AutoThreads = *p.AutoThreads
	}
	if p.KeepQuery != nil {
		s.KeepQuery = *p.KeepQuery
	}
	if p.Rules != nil {
		s.Rules = ""
		if *p.Rules != "" {
			r, err := moderation.ParseRules([]byte(*p.Rules))
			var invalid *fault.Error
			switch {
			case errors.As(err, &invalid) && len(invalid.Fields) > 0:
				for k, v := range invalid.Fields {
					fields["rules."+k] = v
				}
			case err != nil:
				fields["rules"] = "must be a rules object or null"
			default:
				doc, _ := json.Marshal(r)
				s.Rules = string(doc)
			}
		}
	}
	if len(fields) > 0 {
		return &fault.Error{Code: fault.Invalid, Message: "invalid site: " + describe(fields), Fields: fields}
	}
	return nil
}

func cleanOrigins(in []string) ([]string, string) {
	out := make([]string, 0, len(in))
	for i, raw := range in {
		o, err := NormalizeOrigin(raw)
		if err != nil {
			return out, fmt.Sprintf("entry %d: %v", i+1, err)
		}
		if !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	if len(out) > maxOrigins {
		return out, fmt.Sprintf("at most %d origins", maxOrigins)
	}
	return out, ""
}

func describe(fields map[string]string) string {
	parts := make([]string, 0, len(fields))
	for k, v := range fields {
		parts = append(parts, k+": "+v)
	}
	slices.Sort(parts) // a stable message
	return strings.Join(parts, "; ")
}

// Create validates and stores a new site; p must set its name.
func Create(ctx context.Context, st *models.Store, id string, p Patch, now time.Time) (*models.Site, error) {
	s := New(id)
	err := p.apply(&s)
	var invalid *fault.Error
	if err != nil && !errors.As(err, &invalid) {
		return nil, err
	}
	if !idPattern.MatchString(id) {
		if invalid == nil {
			invalid = &fault.Error{Code: fault.Invalid, Fields: map[string]string{}}
		}
		invalid.Fields["id"] = "1 to 64 lowercase letters, digits and inner dashes"
	}
	if p.Name == nil {
		if invalid == nil {
			invalid = &fault.Error{Code: fault.Invalid, Fields: map[string]string{}}
		}
		invalid.Fields["name"] = "required"
	}
	if invalid != nil {
		invalid.Message = "invalid site: " + describe(invalid.Fields)
		return nil, invalid
	}
	s.CreatedAt, s.UpdatedAt = now, now
	err = st.WriteTx(ctx, func(tx *gorm.DB) error { return tx.Create(&s).Error })
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return nil, fmt.Errorf("create site %q: %w", id, ErrExists)
	}
	if err != nil {
		return nil, fmt.Errorf("create site %q: %w", id, err)
	}
	return &s, nil
}

// Get loads one site; a missing one is models.ErrNotFound.
func Get(ctx context.Context, db *gorm.DB, id string) (*models.Site, error) {
	var s models.Site
	if err := db.WithContext(ctx).Where("id = ?", id).Take(&s).Error; err != nil {
		return nil, fmt.Errorf("site %q: %w", id, models.MapError(err))
	}
	return &s, nil
}

// List returns up to limit sites with ids after after, in id order; only,
// when not nil, keeps the sites it names.
func List(ctx context.Context, db *gorm.DB, after string, limit int, only []string) ([]models.Site, error) {
	var out []models.Site
	q := db.WithContext(ctx).Order("id").Limit(limit)
	if after != "" {
		q = q.Where("id > ?", after)
	}
	if only != nil {
		q = q.Where("id IN ?", only)
	}
	if err := q.Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list sites: %w", models.MapError(err))
	}
	return out, nil
}

// Update applies p to site id and returns it as stored.
func Update(ctx context.Context, st *models.Store, id string, p Patch, now time.Time) (*models.Site, error) {
	var s models.Site
	err := st.WriteTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("id = ?", id).Take(&s).Error; err != nil {
			return err
		}
		if err := p.apply(&s); err != nil {
			return err
		}
		s.UpdatedAt = now
		return tx.Save(&s).Error
	})
	if err != nil {
		return nil, fmt.Errorf("update site %q: %w", id, models.MapError(err))
	}
	return &s, nil
}

// Delete removes a site without threads; the default site stays.
func Delete(ctx context.Context, st *models.Store, id string) error {
	if id == models.DefaultSite {
		return fmt.Errorf("delete site %q: %w", id, ErrInUse)
	}
	err := st.WriteTx(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&models.Article{}).Where("site_id = ?", id).Limit(1).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return ErrInUse
		}
		res := tx.Where("id = ?", id).Delete(&models.Site{})
		if res.Error == nil && res.RowsAffected == 0 {
			return gorm.ErrRecordNotFound
		}
		return res.Error
	})
	if err != nil {
		return fmt.Errorf("delete site %q: %w", id, models.MapError(err))
	}
	return nil
}
