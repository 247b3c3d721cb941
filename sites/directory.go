package sites

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/parley-comments/parley/models"
)

// directoryTTL bounds how long an instance answers with sites another
// instance changed; a change made through this instance is seen at once.
const directoryTTL = 2 * time.Second

// Directory answers the questions every request asks (does this site exist,
// is this origin one of its pages') from memory, reloading the sites table
// at most every two seconds. The default site's origins are its stored ones
// plus Configured (PARLEY_ALLOWED_ORIGINS).
type Directory struct {
	Store      *models.Store
	Configured []string

	mu       sync.Mutex
	byID     map[string]models.Site
	all      []string // every site's origins, deduplicated
	loadedAt time.Time
}

// NewDirectory returns a Directory of the store's sites; configured are the
// default site's origins from the environment.
func NewDirectory(st *models.Store, configured []string) *Directory {
	var origins []string
	for _, o := range configured {
		if n, err := NormalizeOrigin(o); err == nil && !slices.Contains(origins, n) {
			origins = append(origins, n)
		}
	}
	return &Directory{Store: st, Configured: origins}
}

// Site returns a site with its effective origins; a missing one is models.ErrNotFound.
func (d *Directory) Site(ctx context.Context, id string) (models.Site, error) {
	if err := d.load(ctx); err != nil {
		return models.Site{}, err
	}
	d.mu.Lock()
	s, ok := d.byID[id]
	d.mu.Unlock()
	if !ok {
		return models.Site{}, fmt.Errorf("site %q: %w", id, models.ErrNotFound)
	}
	return s, nil
}

// Origins returns the origins of every site.
func (d *Directory) Origins(ctx context.Context) ([]string, error) {
	if err := d.load(ctx); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.all, nil
}

// Forget drops what the directory knows, so the next question reloads it.
func (d *Directory) Forget() {
	d.mu.Lock()
	d.loadedAt = time.Time{}
	d.mu.Unlock()
}

func (d *Directory) load(ctx context.Context) error {
	d.mu.Lock()
	fresh := d.byID != nil && time.Since(d.loadedAt) < directoryTTL
	d.mu.Unlock()
	if fresh {
		return nil
	}
	var rows []models.Site
	if err := d.Store.Read.WithContext(ctx).Find(&rows).Error; err != nil {
		return fmt.Errorf("load sites: %w", models.MapError(err))
	}
	byID := make(map[string]models.Site, len(rows))
	var all []string
	for _, s := range rows {
		if s.ID == models.DefaultSite {
			for _, o := range d.Configured {
				if !slices.Contains(s.Origins, o) {
					s.Origins = append(s.Origins, o)
				}
			}
		}
		byID[s.ID] = s
		for _, o := range s.Origins {
			if !slices.Contains(all, o) {
				all = append(all, o)
			}
		}
	}
	slices.Sort(all)
	d.mu.Lock()
	d.byID, d.all, d.loadedAt = byID, all, time.Now()
	d.mu.Unlock()
	return nil
}
