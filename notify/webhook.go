// Package notify tells the outside world what changed: webhook deliveries
// (signed the Standard Webhooks way, retried from a durable outbox) and, on
// the mail outbox, reply, thread and moderator notifications. Its fan-out
// reads the change log (package events) and writes the outboxes; its
// workers send them.
package notify

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/events"
	"github.com/parley-comments/parley/fault"
	"github.com/parley-comments/parley/models"
)

// Endpoint is a webhook endpoint as an admin registers or changes it; nil
// fields of a change stay as they are.
type Endpoint struct {
	SiteID       *string
	URL          *string
	Events       *[]string
	AllowPrivate *bool
	Active       *bool
}

// maxURL bounds an endpoint's URL.
const maxURL = 2048

// checkURL refuses what is not an absolute http(s) URL, carries credentials,
// or names a blocked address literally (unless allowed). Names are checked
// when connecting, where the resolved address is known (see guard).
func checkURL(raw string, allowPrivate bool) string {
	u, err := url.Parse(raw)
	switch {
	case len(raw) > maxURL:
		return fmt.Sprintf("at most %d characters", maxURL)
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "":
		return "an absolute http or https URL"
	case u.User != nil:
		return "no user name or password in the URL; authenticate with the signature"
	case u.Fragment != "":
		return "no fragment"
	}
	if ip, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]")); err == nil && !allowPrivate && Blocked(ip) {
		return "a private, loopback or link-local address (allow_private lets an admin allow it)"
	}
	return ""
}

func checkEvents(kinds []string) string {
	if len(kinds) == 0 {
		return "at least one of " + strings.Join(events.WebhookKinds, ", ")
	}
	for _, k := range kinds {
		if !events.IsWebhookKind(k) {
			return fmt.Sprintf("%q is not one of %s", k, strings.Join(events.WebhookKinds, ", "))
		}
	}
	return ""
}

// CreateWebhook registers an endpoint with a fresh secret.
func CreateWebhook(ctx context.Context, store *models.Store, in Endpoint, now time.Time) (*models.Webhook, error) {
	w := models.Webhook{SiteID: models.DefaultSite, Active: true, CreatedAt: now, UpdatedAt: now, Secret: NewSecret()}
	if in.URL == nil {
		in.URL = new(string)
	}
	if in.Events == nil {
		in.Events = &[]string{}
	}
	if err := apply(&w, in); err != nil {
		return nil, err
	}
	err := store.WriteTx(ctx, func(tx *gorm.DB) error {
		if err := siteExists(tx, w.SiteID); err != nil {
			return err
		}
		return tx.Create(&w).Error
	})
	if err != nil {
		return nil, fmt.Errorf("create webhook: %w", err)
	}
	return &w, nil
}

// UpdateWebhook changes an endpoint.
func UpdateWebhook(ctx context.Context, store *models.Store, id uint, in Endpoint, now time.Time) (*models.Webhook, error) {
	var w models.Webhook
	err := store.WriteTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Take(&w, id).Error; err != nil {
			return err
		}
		if err := apply(&w, in); err != nil {
			return err
		}
		if err := siteExists(tx, w.SiteID); err != nil {
			return err
		}
		w.UpdatedAt = now
		return tx.Save(&w).Error
	})
	if err != nil {
		return nil, fmt.Errorf("update webhook %d: %w", id, err)
	}
	return &w, nil
}

func apply(w *models.Webhook, in Endpoint) error {
	fields := map[string]string{}
	if in.SiteID != nil {
		w.SiteID = *in.SiteID
	}
	if in.AllowPrivate != nil {
		w.AllowPrivate = *in.AllowPrivate
	}
	if in.Active != nil {
		w.Active = *in.Active
	}
	if in.URL != nil {
		w.URL = strings.TrimSpace(*in.URL)
	}
	if msg := checkURL(w.URL, w.AllowPrivate); msg != "" {
		fields["url"] = msg
	}
	if in.Events != nil {
		kinds := slices.Clone(*in.Events)
		slices.Sort(kinds)
		kinds = slices.Compact(kinds)
		if msg := checkEvents(kinds); msg != "" {
			fields["events"] = msg
		}
		w.Events = strings.Join(kinds, ",")
	}
	if len(fields) > 0 {
		return fault.InvalidFields("invalid webhook", fields)
	}
	return nil
}

func siteExists(tx *gorm.DB, id string) error {
	var n int64
	if err := tx.Model(&models.Site{}).Where("id = ?", id).Count(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return fault.InvalidFields("no such site", map[string]string{"site": "no such site"})
	}
	return nil
}

// DeleteWebhook removes an endpoint with its delivery log.
func DeleteWebhook(ctx context.Context, store *models.Store, id uint) error {
	return store.WriteTx(ctx, func(tx *gorm.DB) error {
		res := tx.Delete(&models.Webhook{}, id)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("webhook %d: %w", id, models.ErrNotFound)
		}
		return tx.Where("webhook_id = ?", id).Delete(&models.WebhookDelivery{}).Error
	})
}

// Replay queues a delivery again as a new one with the same message (so the
// receiver can tell a replay from a new event by webhook-id), due now.
func Replay(ctx context.Context, store *models.Store, webhookID uint, deliveryID uint64, now time.Time) (*models.WebhookDelivery, error) {
	var d models.WebhookDelivery
	err := store.WriteTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("id = ? AND webhook_id = ?", deliveryID, webhookID).Take(&d).Error; err != nil {
			return err
		}
		d = models.WebhookDelivery{WebhookID: d.WebhookID, MessageID: d.MessageID, EventID: d.EventID, CommentID: d.CommentID,
			Kind: d.Kind, Payload: d.Payload, State: models.DeliveryPending, NextAt: now, CreatedAt: now}
		return tx.Create(&d).Error
	})
	if errors.Is(err, models.ErrNotFound) {
		return nil, fmt.Errorf("delivery %d of webhook %d: %w", deliveryID, webhookID, models.ErrNotFound)
	}
	return &d, err
}

// Page is one page of a list, newest first, and the cursor of the next.
type Page[T any] struct {
	Items      []T
	NextCursor string
}

// Webhooks lists the endpoints, newest first; site filters when set.
func Webhooks(ctx context.Context, store *models.Store, site string, limit int, cursor string) (*Page[models.Webhook], error) {
	q := store.Read.WithContext(ctx).Model(&models.Webhook{})
	if site != "" {
		q = q.Where("site_id = ?", site)
	}
	return pageByID[models.Webhook](q, "w", limit, cursor, func(w models.Webhook) uint64 { return uint64(w.ID) })
}

// Deliveries lists an endpoint's deliveries, newest first.
func Deliveries(ctx context.Context, store *models.Store, webhookID uint, limit int, cursor string) (*Page[models.WebhookDelivery], error) {
	var n int64
	if err := store.Read.WithContext(ctx).Model(&models.Webhook{}).Where("id = ?", webhookID).Count(&n).Error; err != nil {
		return nil, models.MapError(err)
	}
	if n == 0 {
		return nil, fmt.Errorf("webhook %d: %w", webhookID, models.ErrNotFound)
	}
	q := store.Read.WithContext(ctx).Model(&models.WebhookDelivery{}).Where("webhook_id = ?", webhookID)
	return pageByID[models.WebhookDelivery](q, "d", limit, cursor, func(d models.WebhookDelivery) uint64 { return d.ID })
}

func pageByID[T any](q *gorm.DB, tag string, limit int, cursor string, id func(T) uint64) (*Page[T], error) {
	if cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cursor)
		rest, ok := strings.CutPrefix(string(raw), tag+".")
		after, perr := strconv.ParseUint(rest, 10, 64)
		if len(cursor) > 40 || err != nil || !ok || perr != nil {
			return nil, models.ErrBadCursor
		}
		q = q.Where("id < ?", after)
	}
	var rows []T
	if err := q.Order("id DESC").Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, models.MapError(err)
	}
	p := &Page[T]{Items: rows}
	if len(rows) > limit {
		p.Items = rows[:limit]
		p.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(tag + "." + strconv.FormatUint(id(rows[limit-1]), 10)))
	}
	return p, nil
}

// Webhook returns one endpoint.
func Webhook(ctx context.Context, store *models.Store, id uint) (*models.Webhook, error) {
	var w models.Webhook
	if err := store.Read.WithContext(ctx).Take(&w, id).Error; err != nil {
		return nil, fmt.Errorf("webhook %d: %w", id, models.MapError(err))
	}
	return &w, nil
}
